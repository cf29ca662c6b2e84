"""A loopback Log Analytics query endpoint that really runs the KQL it is sent.

``LogsQueryClient(credential, endpoint=server.endpoint)`` POSTs
``{endpoint}/v1/{resourceId}/query`` with ``{"query", "timespan", "workspaces"}`` and a
bearer token. The server keeps App Insights tables (``dependencies``, ``traces``) as rows,
limits them to the request's timespan as the service does, runs the KQL on DuckDB with
``duckdb-kql`` and answers in the API's JSON shape
(``{"tables": [{"name": "PrimaryResult", "columns": [{"name", "type"}], "rows": [...]}]}``),
``dynamic`` values as JSON text and ``datetime`` values as ISO 8601 strings, as the service
sends them. Every request is kept in ``.queries`` (path, Authorization header, body).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import duckdb_kql

# The App Insights columns the tests use, with their DuckDB types.
TABLES: dict[str, dict[str, str]] = {
    "dependencies": {
        "timestamp": "TIMESTAMP",
        "id": "VARCHAR",
        "operation_Id": "VARCHAR",
        "operation_ParentId": "VARCHAR",
        "operation_Name": "VARCHAR",
        "name": "VARCHAR",
        "target": "VARCHAR",
        "type": "VARCHAR",
        "data": "VARCHAR",
        "duration": "DOUBLE",
        "success": "BOOLEAN",
        "resultCode": "VARCHAR",
        "cloud_RoleName": "VARCHAR",
        "customDimensions": "JSON",
        "itemType": "VARCHAR",
    },
    "traces": {
        "timestamp": "TIMESTAMP",
        "operation_Id": "VARCHAR",
        "operation_ParentId": "VARCHAR",
        "operation_Name": "VARCHAR",
        "message": "VARCHAR",
        "severityLevel": "INTEGER",
        "cloud_RoleName": "VARCHAR",
        "customDimensions": "JSON",
        "itemType": "VARCHAR",
    },
}
_KUSTO_TYPES = {"TIMESTAMP": "datetime", "DOUBLE": "real", "BOOLEAN": "bool", "JSON": "dynamic"}
_ITEM_TYPES = {"dependencies": "dependency", "traces": "trace"}


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc)


def _timespan(text: str | None) -> tuple[datetime, datetime] | None:
    if not text or "/" not in text:
        return None
    start, end = (_moment(part) for part in text.split("/", 1))
    return (start, end) if start and end else None


def _cell(value: Any, kusto_type: str) -> Any:
    if value is None:
        return None
    if kusto_type == "datetime":
        return value.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")
    return value


class LogAnalyticsServer:
    """Serves ``tables`` ({"dependencies": rows, "traces": rows}) to LogsQueryClient on 127.0.0.1."""

    def __init__(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]):
        self.tables = {name: [dict(row) for row in rows] for name, rows in tables.items()}
        self.queries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"owner": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LogAnalyticsServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def run(self, query: str, timespan: str | None) -> dict[str, Any]:
        """The API's answer for one query, run on the rows inside ``timespan``."""
        window = _timespan(timespan)
        if window is not None:  # the table holds naive UTC times
            window = (window[0].replace(tzinfo=None), window[1].replace(tzinfo=None))
        con = duckdb_kql.connect()
        for table, columns in TABLES.items():
            con.sql(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
            rows = [_row(table, row, columns) for row in self.tables.get(table, ())]
            if window is not None:
                rows = [r for r in rows if r[0] is not None and window[0] <= r[0] <= window[1]]
            if rows:
                marks = ", ".join("?" for _ in columns)
                con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        relation = duckdb_kql.query(con, query)
        types = [_KUSTO_TYPES.get(str(t).split("(")[0], "string") for t in relation.types]
        rows = [[_cell(v, t) for v, t in zip(row, types, strict=True)] for row in relation.fetchall()]
        columns = [{"name": n, "type": t} for n, t in zip(relation.columns, types, strict=True)]
        return {"tables": [{"name": "PrimaryResult", "columns": columns, "rows": rows}]}


def _row(table: str, row: Mapping[str, Any], columns: Mapping[str, str]) -> list[Any]:
    values: list[Any] = []
    for column in columns:
        value = row.get(column)
        if column == "timestamp":
            moment = _moment(value)
            value = moment.replace(tzinfo=None) if moment else None
        elif column == "customDimensions":
            value = json.dumps(value or {})
        elif column == "itemType":
            value = _ITEM_TYPES[table]
        values.append(value)
    return values


class _Handler(BaseHTTPRequestHandler):
    owner: LogAnalyticsServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        with self.owner._lock:
            self.owner.queries.append(
                {"path": self.path, "authorization": self.headers.get("Authorization"), "body": body}
            )
        if not self.path.split("?")[0].endswith("/query"):
            self._reply(404, {"error": {"code": "PathNotFoundError", "message": "not found"}})
            return
        try:
            answer = self.owner.run(body["query"], body.get("timespan"))
        except Exception as error:  # the KQL did not run: answer as the service does (400)
            self._reply(
                400, {"error": {"code": "BadArgumentError", "message": f"{type(error).__name__}: {error}"}}
            )
            return
        self._reply(200, answer)

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class FakeCredential:
    """A TokenCredential that hands out a fixed token and remembers the scopes asked for."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        expires = int((datetime.now(timezone.utc) + timedelta(hours=1)).timestamp())
        return AccessToken("fake-token-for-loopback", expires)
