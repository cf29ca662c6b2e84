"""Pictures of what each workbook section shows, drawn from the test data.

``python dashboards/tools/render.py`` runs tests/apps/dashboard_scenario.py through the real
Azure Monitor distro (as the tests do), runs every workbook query on the exported rows with
duckdb-kql, and draws each result with matplotlib into docs/img/dashboard-<section>.png. The
numbers are the scenario's, asserted by tests/test_dashboards_kql_data.py.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import dashboard_data  # noqa: E402
import dashboard_tools as tools  # noqa: E402

OUT = ROOT / "docs" / "img"
Rows = list[dict[str, Any]]


def _bars(ax: Any, labels: list[str], series: dict[str, list[float]], title: str, unit: str = "") -> None:
    width = 0.8 / max(1, len(series))
    for n, (name, values) in enumerate(series.items()):
        ax.barh([i + n * width for i in range(len(labels))], values, height=width, label=name)
    ax.set_yticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))], labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel(unit, fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    if len(series) > 1:
        ax.legend(fontsize=7)


def _table(ax: Any, rows: Rows, columns: list[str], title: str) -> None:
    ax.axis("off")
    ax.set_title(title, fontsize=10, loc="left")
    if not rows:
        ax.text(0, 0.5, "(no rows)", fontsize=8)
        return
    cells = [[_cell(r[c]) for c in columns] for r in rows]
    table = ax.table(cellText=cells, colLabels=columns, loc="upper left", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.auto_set_column_width(list(range(len(columns))))


def _cell(value: Any) -> str:
    if hasattr(value, "strftime"):
        return str(value.strftime("%H:%M:%S.%f")[:-3])
    text = "" if value is None else str(value)
    return text if len(text) <= 34 else text[:15] + "…" + text[-15:]


def health(q: Callable[..., Rows], fig: Any) -> None:
    axes = fig.subplots(2, 2)
    calls = q("health-calls")
    _bars(
        axes[0][0],
        [r["operation"] for r in calls],
        {"calls": [r["calls"] for r in calls], "failed": [r["failed"] for r in calls]},
        "Calls and failures per operation",
    )
    failures = q("health-failures-by-class")
    _bars(
        axes[0][1],
        [f"{r['failureClass']} ({r['operation']}, {r['httpStatus']})" for r in failures],
        {"failures": [r["failures"] for r in failures]},
        "Failures by failure class",
    )
    latency = q("health-latency")
    _bars(
        axes[1][0],
        [f"{r['operation']} {r['deployment']}".strip() for r in latency],
        {p: [r[f"{p}Ms"] for r in latency] for p in ("p50", "p95", "p99")},
        "Latency by operation and deployment",
        "ms",
    )
    throttling = q("health-throttling")
    _bars(
        axes[1][1],
        [r["operation"] for r in throttling],
        {k: [r[k] for r in throttling] for k in ("throttled", "retriedCalls", "retries")},
        "Throttling (429) and retries",
    )


def runs(q: Callable[..., Rows], fig: Any) -> None:
    axes = fig.subplots(2, 2)
    status = q("runs-status")
    _bars(
        axes[0][0],
        [f"{r['status']} {r['reason']} ({r['deployment']})".replace("  ", " ") for r in status],
        {"runs": [r["runs"] for r in status]},
        "Runs by final status",
    )
    timing = q("runs-timing")
    _bars(
        axes[0][1],
        [r["deployment"] for r in timing],
        {
            "avg queue": [r["avgQueueS"] for r in timing],
            "avg execution": [r["avgExecutionS"] for r in timing],
            "max total": [r["maxTotalS"] for r in timing],
        },
        "Run queue and execution time",
        "s",
    )
    reply = q("runs-reply-time")
    _bars(
        axes[1][0],
        [f"{r['replyStatus']} ({r['replies']})" for r in reply],
        {"p50": [r["p50S"] for r in reply], "p95": [r["p95S"] for r in reply]},
        "User message -> assistant reply",
        "s",
    )
    tokens = q("runs-tokens")
    _bars(
        axes[1][1],
        [f"{r['operation']} {r['model']}" for r in tokens],
        {"input": [r["inputTokens"] for r in tokens], "output": [r["outputTokens"] for r in tokens]},
        "Token usage",
        "tokens",
    )


def safety(q: Callable[..., Rows], fig: Any) -> None:
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1.6, 1]})
    outcomes: dict[str, float] = {}
    for r in q("safety-outcomes-over-time"):
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + r["calls"]
    _bars(axes[0], list(outcomes), {"calls": list(outcomes.values())}, "Filter outcomes (time range)")
    categories = q("safety-categories")
    _bars(
        axes[1],
        [f"{r['source']} {r['category']} {r['severity']}".strip() for r in categories],
        {"flagged": [r["results"] for r in categories], "filtered": [r["filtered"] for r in categories]},
        "Results by source, category, severity",
    )
    blocked = q("safety-blocked")
    _bars(
        axes[2],
        [r["operation"] for r in blocked],
        {
            "prompts": [r["blockedPrompts"] for r in blocked],
            "outputs": [r["blockedOutputs"] for r in blocked],
        },
        "Blocked prompts vs outputs",
    )


def thread(q: Callable[..., Rows], fig: Any, lookup: str) -> None:
    rows = q("thread-timeline", LookupId=lookup)
    columns = [
        "timestamp",
        "item",
        "what",
        "run",
        "messageId",
        "status",
        "durationMs",
        "success",
        "requestId",
        "appRequestId",
    ]
    for r in rows:
        r["what"] = r["what"].replace("assistant_telemetry.", "")
        r["durationMs"] = "" if r["durationMs"] is None else f"{r['durationMs']:.0f}"
    _table(fig.subplots(), rows, columns, f"Follow a thread: LookupId = {lookup}")


def anomalies(q: Callable[..., Rows], fig: Any) -> None:
    axes = fig.subplots(4, 1)
    _table(
        axes[0],
        q("anomaly-completed-without-reply"),
        ["timestamp", "thread", "run", "deployment", "totalS"],
        "Runs that completed with no assistant message",
    )
    _table(
        axes[1],
        q("anomaly-duplicate-submissions"),
        ["thread", "submission", "submissions", "appRequestIds"],
        "Duplicate submissions",
    )
    _table(
        axes[2],
        q("anomaly-stuck-runs", StuckAfter="0s"),
        ["lastSeen", "run", "status", "thread", "lastOperation"],
        "Runs stuck queued or in progress (StuckAfter = 0s for the picture)",
    )
    _table(
        axes[3],
        q("anomaly-long-threads", LongThreadMessages="10"),
        ["thread", "messages", "runs", "lastSeen"],
        "Threads that grow long (LongThreadMessages = 10)",
    )


def render(out: Path) -> list[Path]:
    import duckdb_kql

    data = dashboard_data.scenario()
    con = dashboard_data.duckdb(data.tables)
    stamps = [r["timestamp"] for r in data.tables["dependencies"]]
    window = tuple(
        (t).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        for t in (min(stamps) - timedelta(minutes=5), max(stamps) + timedelta(minutes=5))
    )
    workbook = tools.workbook_queries(tools.load(tools.WORKBOOK))

    def q(name: str, **params: str) -> Rows:
        query = tools.substitute_workbook(workbook[name], tools.workbook_values(*window, **params))
        relation = duckdb_kql.query(con, query)
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]

    out.mkdir(parents=True, exist_ok=True)
    pictures = {
        "health": (lambda fig: health(q, fig), (13, 8)),
        "runs": (lambda fig: runs(q, fig), (13, 7)),
        "safety": (lambda fig: safety(q, fig), (15, 5)),
        "thread": (lambda fig: thread(q, fig, data.ids["threads"]["happy"]), (12, 5)),
        "anomalies": (lambda fig: anomalies(q, fig), (9, 6)),
    }
    written = []
    for name, (draw, size) in pictures.items():
        fig = plt.figure(figsize=size, layout="constrained")
        draw(fig)
        path = out / f"dashboard-{name}.png"
        fig.savefig(path, dpi=72, metadata={"Software": None})
        plt.close(fig)
        written.append(path)
    return written


def main() -> int:
    for path in render(OUT):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
