"""``motcua bench``: end-to-end throughput and latency of the whole pipeline,
measured next to the broker's own limit in the same run."""
