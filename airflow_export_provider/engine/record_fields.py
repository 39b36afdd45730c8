"""The member names of the record's fixed structs, without pyarrow.

Definitions name device attributes and communication preferences (``fields.device``,
``fields.comm_prefs``); validating those names happens wherever a definition is read,
DAG parsing included, which must not import pyarrow. The Arrow types of these structs
(:mod:`~airflow_export_provider.engine.events`) are built from these names.
"""

from __future__ import annotations

DEVICE_FIELDS = (
    "platform", "token", "make", "model", "app_version", "sdk_version", "os_version", "browser", "dpi",
    "dimensions",
)  # fmt: skip
"""Members of ``device``; all strings but ``dpi`` (int32)."""

COMM_PREF_FIELDS = ("subscription_groups", "push", "web_push", "email", "sms", "whatsapp")
"""Members of ``comm_prefs``; booleans but ``subscription_groups`` (a list of strings)."""
