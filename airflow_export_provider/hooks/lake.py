"""Opens an event lake's filesystem from an Airflow ``aws`` connection."""

from __future__ import annotations

import pyarrow.fs as pafs
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook


class EventLakeHook(AwsBaseHook):
    """Gives pyarrow an S3 filesystem with the connection's credentials, region and endpoint.

    Building on AwsBaseHook means role assumption, session tokens and ``endpoint_url``
    in the connection's extra work exactly as they do for the amazon provider's hooks.
    """

    conn_name_attr = "aws_conn_id"
    default_conn_name = "aws_default"
    conn_type = "aws"
    hook_name = "Event lake (S3)"

    def __init__(self, aws_conn_id: str | None = default_conn_name) -> None:
        super().__init__(aws_conn_id=aws_conn_id, client_type="s3")

    def filesystem(self) -> pafs.S3FileSystem:
        credentials = self.get_credentials()
        endpoint = self.conn_config.endpoint_url
        options: dict[str, object] = {}
        if endpoint:
            scheme, _, host = endpoint.partition("://")
            options = {"endpoint_override": host or scheme, "scheme": scheme if host else "https"}
        return pafs.S3FileSystem(
            access_key=credentials.access_key,
            secret_key=credentials.secret_key,
            session_token=credentials.token,
            region=self.conn_region_name or "us-east-1",
            **options,
        )
