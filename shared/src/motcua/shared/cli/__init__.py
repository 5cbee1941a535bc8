"""The ``motcua`` command line."""
