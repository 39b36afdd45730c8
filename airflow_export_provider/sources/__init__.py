"""Event sources: where the events of a window are read from."""
