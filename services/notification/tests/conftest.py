"""Fixtures of the notification tests (helpers live in notification_support)."""

from notification_support import make_settings, simulators

__all__ = ["make_settings", "simulators"]
