"""Notification: SMS, email and postal delivery of notices and results."""
