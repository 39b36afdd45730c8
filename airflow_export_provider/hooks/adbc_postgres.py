"""An ADBC connection for an Airflow ``postgres`` connection, where the driver is installed.

The SQL source reads a PostgreSQL window several times faster through ADBC's Arrow-native
driver than through psycopg (docs/sql-sources.md, "Memory and speed"). The driver takes
a libpq URI, built here from the same fields the postgres provider's hook uses: host,
port, login, password, database (the connection's ``schema``) and the libpq options of
``extra`` (``sslmode``, ``sslrootcert``, ``connect_timeout``, ...).

A connection that needs the hook itself (IAM tokens, or any ``extra`` key libpq does not
know) gets ``None`` here, and the source reads through the hook's own driver, as every
other SQL connection does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

# libpq connection parameters (PostgreSQL docs, "Parameter Key Words") the URI passes on.
LIBPQ_PARAMETERS = frozenset({
    "sslmode", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
    "sslcompression", "sslnegotiation", "sslcertmode", "requiressl", "gssencmode", "channel_binding",
    "connect_timeout", "application_name", "fallback_application_name", "options", "client_encoding",
    "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
    "target_session_attrs", "load_balance_hosts", "krbsrvname", "gsslib", "service", "passfile",
    "require_auth", "replication",
})  # fmt: skip
# The postgres hook's own options that change nothing about a read-only query.
HOOK_ONLY_OPTIONS = frozenset({"cursor", "sqlalchemy_scheme", "sqlalchemy_query", "enable_log_db_messages"})
CONN_TYPES = ("postgres", "postgresql")


def adbc_connection(connection: Any) -> Any | None:
    """An ADBC DB-API connection for ``connection`` (an Airflow ``Connection``), or ``None``.

    ``None`` when the connection is not PostgreSQL, the driver is not installed, or its
    ``extra`` asks for something only the hook does (``iam``, ``aws_conn_id``, ...).
    Connecting may raise the driver's error; the caller words it.
    """
    if connection.conn_type not in CONN_TYPES:
        return None
    extra = connection.extra_dejson
    if any(key not in LIBPQ_PARAMETERS and key not in HOOK_ONLY_OPTIONS for key in extra):
        return None
    try:
        import adbc_driver_postgresql.dbapi
    except ImportError:
        return None
    return adbc_driver_postgresql.dbapi.connect(libpq_uri(connection, extra))


def libpq_uri(connection: Any, extra: dict[str, Any]) -> str:
    """``postgresql://login:password@host:port/database?options``, each part percent-quoted."""
    login = quote(connection.login or "", safe="")
    password = quote(connection.password or "", safe="")
    user = f"{login}:{password}@" if password else (f"{login}@" if login else "")
    host = connection.host or ""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    elif host.startswith("/"):
        host = quote(host, safe="")  # a Unix socket directory
    port = f":{connection.port}" if connection.port else ""
    database = quote(connection.schema or "", safe="")
    options = {key: value for key, value in extra.items() if key in LIBPQ_PARAMETERS}
    query = f"?{urlencode(options)}" if options else ""
    return f"postgresql://{user}{host}{port}/{database}{query}"
