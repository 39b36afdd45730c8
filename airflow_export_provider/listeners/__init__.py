"""Airflow listeners of this provider, registered by :mod:`airflow_export_provider.plugin`."""
