"""Intake: the one-stop desk and online reception of dossiers."""
