"""Deferrable counterparts of the provider's sensors, run by Airflow's triggerer."""
