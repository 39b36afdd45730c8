"""``python -m airflow_export_provider.cli``: the same as ``airflow-export``."""

import sys

from airflow_export_provider.cli import main

sys.exit(main())
