"""Test support: real broker and database fixtures (pytest plugin ``motcua``)."""
