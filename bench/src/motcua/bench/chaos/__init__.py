"""motcua chaos: fault experiments against the running system."""
