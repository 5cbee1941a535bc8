"""Routing: inter-agency hand-offs between commune, province and specialist agencies."""
