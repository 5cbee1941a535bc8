"""Reporting: projections of the event log, reports, timelines, operator console."""
