"""Contracts and plumbing shared by every motcua service.

Nothing in this package connects to anything at import time: each service's
``create_app()`` builds its broker, database and telemetry from settings.
"""
