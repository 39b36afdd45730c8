"""The Export center: every export on one screen, in the Airflow UI's navigation.

A FastAPI app the API server mounts at ``/export-center`` (the provider's plugin adds it
and a navigation entry that shows it inside the UI). It uses Airflow's own
authentication: the UI session's token (cookie) or an ``Authorization: Bearer`` token;
without one every page and the JSON API answer 401. A user sees the exports whose DAGs
the auth manager lets them read.

- ``/`` one row per export: account, destination, format, schedule in words, status,
  the last delivered window with its records, files, bytes and manifest, the next
  window, open alerts, and links to the DAG and the one-time export.
- ``/exports/<dag_id>`` the export's latest windows as a timeline (delivered, running,
  failing, failed, gap), and the last delivered window's manifest, read through the
  export's own destination connection.
- ``/api/exports`` the same as JSON.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from airflow.api_fastapi.core_api.security import get_user as _airflow_user
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse

from airflow_export_provider.ui import URL_PREFIX
from airflow_export_provider.ui.overview import ExportRow, export_rows, read_manifest

app = FastAPI(title="Export center", docs_url=None, redoc_url=None, openapi_url=None)
User = Annotated[Any, Depends(_airflow_user)]
"""Airflow's authenticated user of the request; Airflow answers 401 without a token."""


def _allowed(user: Any) -> set[str]:
    from airflow.api_fastapi.app import get_auth_manager

    return set(get_auth_manager().get_authorized_dag_ids(user=user, method="GET"))


@app.get("/api/exports")
def exports_json(user: User) -> list[dict[str, Any]]:
    return [row.as_json() for row in export_rows(_allowed(user))]


@app.get("/", response_class=HTMLResponse)
def export_list(request: Request, user: User) -> str:
    rows = export_rows(_allowed(user))
    airflow = _airflow_root(request)
    body = "".join(_list_row(row, airflow) for row in rows) or (
        "<tr><td colspan='9'>No exports yet: drop a definition into the DAGs folder's exports/.</td></tr>"
    )
    table = (
        "<table><thead><tr><th>Export</th><th>Account</th><th>Destination</th><th>Format</th>"
        "<th>Schedule</th><th>Status</th><th>Last delivered window</th><th>Next window</th>"
        f"<th>Alerts</th></tr></thead><tbody>{body}</tbody></table>"
    )
    return _page("Export center", f"<p>{len(rows)} exports</p>{table}")


@app.get("/exports/{dag_id}", response_class=HTMLResponse)
def export_page(dag_id: str, request: Request, user: User) -> str:
    found = [row for row in export_rows(_allowed(user)) if row.dag_id == dag_id]
    if not found:
        raise HTTPException(status_code=404, detail=f"no export DAG {dag_id!r} you may read")
    row = found[0]
    airflow = _airflow_root(request)
    boxes = "".join(_window_box(w.start, w.end, w.state) for w in reversed(row.windows))
    boxes = boxes or "<p>No window has run yet.</p>"
    facts = {name: _text(value) for name, value in row.facts.items()}
    dag = _text(row.dag_id)
    details = (
        f"<p><a target='_top' href='{airflow}/dags/{dag}'>DAG {dag}</a> · {facts.get('destination')}"
        f" · {facts.get('format')} · {facts.get('schedule')} · <b>{_text(row.status)}</b></p>"
        f"<h2>Latest windows</h2><div class='timeline'>{boxes}</div>{_last_manifest(row)}"
    )
    return _page(f"Export {row.facts.get('export_id')}", details)


def _last_manifest(row: ExportRow) -> str:
    """The last delivered window's files, from its manifest read through the export's connection."""
    key = (row.last_delivered or {}).get("manifest_key")
    if not key:
        return ""
    connection = _text((row.facts.get("destination_spec") or {}).get("aws_conn_id", "the local folder"))
    try:
        manifest = read_manifest(row.facts, str(key))
    except Exception as error:  # the page still shows everything else
        return (
            f"<h2>Last manifest</h2><p>could not read {_text(key)} through {connection}: {_text(error)}</p>"
        )
    files = "".join(_manifest_file(entry) for entry in manifest.get("files", []))
    totals = manifest.get("totals", {})
    return (
        f"<h2>Last manifest</h2><p><code>{_text(key)}</code>, read through {connection}: "
        f"{_count(totals.get('records'))} records in {_count(totals.get('files'))} files</p>"
        f"<div class='scroll'><table class='manifest'><thead><tr><th>event</th><th>records</th><th>bytes</th>"
        f"<th>key</th></tr></thead><tbody>{files}</tbody></table></div>"
    )


def _manifest_file(entry: dict[str, Any]) -> str:
    names = str(entry.get("event_name", entry.get("event_names")))
    shown = names if len(names) <= 48 else names[:47] + "…"
    events = f"<span title='{_text(names)}'>{_text(shown)}</span>"
    cells = [
        events,
        _count(entry["records"]),
        _count(entry["bytes"]),
        f"<code>{_text(entry['key'])}</code>",
    ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _window_box(start: str | None, end: str | None, state: str) -> str:
    css = _text(state.replace(" ", "-"))
    title = f"{_text(start)} → {_text(end)}: {_text(state)}"
    inside = f"<span>{_text(_short(start))}</span><b>{_text(state)}</b>"
    return f"<div class='window {css}' title='{title}'>{inside}</div>"


def _list_row(row: ExportRow, airflow: str) -> str:
    facts = {name: _text(value) for name, value in row.facts.items()}
    dag = _text(row.dag_id)
    last = row.last_delivered
    delivered = "—"
    if last:
        span = f"{_text(_short(last.get('window_start')))} → {_text(_short(last.get('window_end')))}"
        numbers = f"{_count(last.get('records'))} records, {_count(last.get('files'))} files"
        manifest = f"<code>{_text(last.get('manifest'))}</code>"
        delivered = f"{span}<br>{numbers}, {_megabytes(last.get('bytes'))}<br>{manifest}"
    links = f"<a target='_top' href='{airflow}/dags/{dag}'>DAG</a> · <a href='exports/{dag}'>windows</a>"
    if row.facts.get("one_time_dag_id"):
        one_time = facts["one_time_dag_id"]
        links += f" · <a target='_top' href='{airflow}/dags/{one_time}'>one-time export</a>"
    one_time_state = f"<br><small>one-time: {_text(row.one_time['status'])}</small>" if row.one_time else ""
    alerts = "<br>".join(_text(alert) for alert in row.alerts) or "—"
    status = f"<span class='status {_text(row.status.lower().replace(' ', '-'))}'>{_text(row.status)}</span>"
    cells = [
        f"<b>{facts.get('export_id')}</b><br><small>{links}</small>",
        facts.get("account_id"), f"<code>{facts.get('destination')}</code>", facts.get("format"),
        facts.get("schedule"), status + one_time_state, delivered, _text(_short(row.next_window)), alerts,
    ]  # fmt: skip
    return f"<tr data-export='{facts.get('export_id')}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _airflow_root(request: Request) -> str:
    """The Airflow UI's root path: where this app is mounted, without ``/export-center``."""
    root = str(request.scope.get("root_path", ""))
    return root[: -len(URL_PREFIX)] if root.endswith(URL_PREFIX) else root


def _short(value: Any) -> str:
    return "—" if not value else str(value).replace("T", " ")[:16]


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "—"


def _megabytes(value: Any) -> str:
    return f"{value / 1_000_000:,.1f} MB" if isinstance(value, int) else "—"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 16px; color: #1a202c; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f7fafc; }
code { font-size: 12px; word-break: break-all; }
.scroll { overflow-x: auto; } .manifest { width: auto; }
.manifest code { word-break: normal; white-space: nowrap; }
.status { padding: 2px 8px; border-radius: 10px; font-weight: 600; white-space: nowrap; }
.running { background: #c6f6d5; } .pending { background: #e2e8f0; } .stopped { background: #fed7d7; }
.waiting-for-access { background: #feebc8; }
.timeline { display: flex; flex-wrap: wrap; gap: 4px; }
.window { width: 112px; padding: 4px; border-radius: 4px; font-size: 12px; background: #e2e8f0; }
.window span { display: block; } .delivered { background: #c6f6d5; }
.failed, .gap, .window.stopped { background: #fed7d7; }
.running-window, .running { background: #bee3f8; } .failing, .waiting-for-access { background: #feebc8; }
"""


def _page(title: str, content: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{content}</body></html>"
    )
