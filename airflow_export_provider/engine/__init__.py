"""What an export does, without Airflow: windows, batches, keys, formats and the commit protocol.

Nothing here imports ``airflow`` (an import-linter contract in the test command keeps it
so): connections arrive as boto3 clients, pyarrow filesystems and DB-API connections,
built by the Airflow layer (``hooks/``). ``engine.run.export_window`` is the way in.
"""
