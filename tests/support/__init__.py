"""Helpers shared by the unit and end-to-end tests (importable as `support.*`)."""
