"""Operators: export a window."""
