"""The Export center: one screen in the Airflow UI for every export (see ``export_center.py``)."""

URL_PREFIX = "/export-center"
"""Where the API server mounts the Export center (kept here: the plugin must not import the app)."""
