"""Sensors that hold a run until it can succeed: destination access."""
