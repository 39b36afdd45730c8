"""Hooks: thin wrappers over Airflow connections."""
