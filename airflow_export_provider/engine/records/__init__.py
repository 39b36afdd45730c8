"""A window's records on their way to files: discover properties, project, route by event."""
