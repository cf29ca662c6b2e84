"""benchmarks/peers.py's tables and target ratios, from every environment's results of one run."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from measure import render
from peers import TARGET_CHUNK_US, TARGET_OWN, TARGET_RECORDING, TARGET_SAMPLED_OUT, US

BEGIN, END = "<!-- peers.py:begin -->", "<!-- peers.py:end -->"
Row = dict[str, Any]


def _ops(envs: Sequence[dict[str, Any]]) -> list[str]:
    """Every call measured, in order (each environment measured the same ones)."""
    return list(dict.fromkeys(op for env in envs for op in env["workloads"]))


def _rows(envs: Sequence[dict[str, Any]], op: str) -> Iterator[tuple[dict[str, Any], str, Row]]:
    for env in envs:
        for name, ops in env.get("ops", {}).items():
            if op in ops:
                yield env, name, ops[op]


def _covered(row: Row) -> bool:
    return bool(row.get("spans")) and "recording_us" in row


def _interval(values: Sequence[float]) -> str:
    return f"{values[0]:.1f} ({values[1]:.1f} to {values[2]:.1f})"


def _ratio(mine: float, theirs: float) -> float:
    return mine / theirs if theirs > 0 else math.nan


def _verdict(value: float, target: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.2f} {'ok' if value <= target else 'OVER'}"


def calls_table(envs: Sequence[dict[str, Any]], markdown: bool) -> str:
    head = (
        "call",
        "instrumentation",
        "version",
        "openai",
        "spans",
        "attrs/events/records",
        "records sampled out",
        "OTLP B",
        "Azure B",
        "overhead us (95% CI)",
        "sampled out us (95% CI)",
    )
    rows: list[Sequence[str]] = [head]
    for op in _ops(envs):
        for env, name, row in _rows(envs, op):
            version = env["versions"].get(name, "?")
            if "error" in row:
                rows.append((op, name, version, env["openai"], "error", *[""] * 5, row["error"][:40]))
            elif not _covered(row):
                rows.append((op, name, version, env["openai"], "-", *["-"] * 6))
            else:
                azure = row.get("azure_bytes")
                off = row.get("sampled_out_us")
                rows.append(
                    (
                        op,
                        name,
                        version,
                        env["openai"],
                        str(row["spans"]),
                        f"{row['attributes']}/{row['events']}/{row['records']}",
                        str(row.get("records_sampled_out", "?")),
                        str(row["otlp_bytes"]),
                        "?" if azure is None else str(azure),
                        _interval(row["recording_us"]),
                        _interval(off) if off else "raised: " + row.get("error_sampled_out", "?")[:40],
                    )
                )
    return render(rows, markdown, left=4)


def _fastest(envs: Sequence[dict[str, Any]], op: str, key: str) -> tuple[dict[str, Any], str, Row] | None:
    found = [(e, n, r) for e, n, r in _rows(envs, op) if n != US and _covered(r) and key in r]
    return min(found, key=lambda f: f[2][key][0], default=None)


def _ours(env: dict[str, Any], op: str) -> Row | None:
    row = env.get("ops", {}).get(US, {}).get(op)
    return row if row is not None and _covered(row) and "sampled_out_us" in row else None


def ratios(envs: Sequence[dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row per call: each target's ratio against the fastest peer of the same process."""
    rows: list[tuple[str, ...]] = [
        (
            "call",
            "fastest peer recording",
            f"ours / it (<= {TARGET_RECORDING})",
            "fastest peer sampled out",
            f"ours / it (<= {TARGET_SAMPLED_OUT})",
            f"own code / SDK alone (<= {TARGET_OWN})",
            "OTLP B ours / its",
            "B per fact ours / its",
        )
    ]
    main = next((e for e in envs if e.get("env") == "main"), None)
    for op in _ops(envs):
        cells = [op]
        rec, off = _fastest(envs, op, "recording_us"), _fastest(envs, op, "sampled_out_us")
        for fastest, key, target in (
            (rec, "recording_us", TARGET_RECORDING),
            (off, "sampled_out_us", TARGET_SAMPLED_OUT),
        ):
            ours = None if fastest is None else _ours(fastest[0], op)
            if fastest is None or ours is None:
                cells += ["-", "-"]
                continue
            cells += [
                f"{fastest[1]} ({fastest[0]['env']}) {fastest[2][key][0]:.1f} us",
                _verdict(_ratio(ours[key][0], fastest[2][key][0]), target),
            ]
        own = (main or {}).get("sdk_alone", {}).get(op)
        cells.append("-" if own is None else _verdict(_ratio(own["own_us"][0], own["sdk_us"][0]), TARGET_OWN))
        ours = None if rec is None else _ours(rec[0], op)
        if rec is None or ours is None:
            cells += ["-", "-"]
        else:
            theirs = rec[2]
            cells.append(f"{ours['otlp_bytes']} / {theirs['otlp_bytes']}")
            cells.append(f"{_per_fact(ours):.0f} / {_per_fact(theirs):.0f}")
        rows.append(tuple(cells))
    return rows


def _per_fact(row: Row) -> float:
    """OTLP bytes per fact written: span attributes, span events and metric records."""
    return row["otlp_bytes"] / max(1, row["attributes"] + row["events"] + row["records"])


def per_chunk(envs: Sequence[dict[str, Any]]) -> str:
    """Added cost per stream chunk: per round, the slope of the paired overheads between the 50- and
    500-chunk streams; the median over rounds with its 95% interval (peers.py's ``_per_chunk``)."""
    slopes: list[tuple[str, list[float]]] = []
    few, many = envs[0]["chunks"]
    for env in envs:
        for name, estimate in env.get("per_chunk_us", {}).items():
            slopes.append((f"{name} ({env['env']})", estimate))
    ours = [s[0] for n, s in slopes if n.startswith(US)]
    theirs = [s[0] for n, s in slopes if not n.startswith(US)]
    holds = bool(ours) and max(ours) <= TARGET_CHUNK_US and all(max(ours) < t for t in theirs)
    listed = ", ".join(f"{n} {s[0]:.2f} ({s[1]:.2f} to {s[2]:.2f})" for n, s in slopes)
    return (
        f"per stream chunk, us (recording, paired slope between the {few}- and {many}-chunk streams):"
        f" {listed}; target <= {TARGET_CHUNK_US} us and below every peer: {'holds' if holds else 'NOT met'}"
    )


def report(envs: Sequence[dict[str, Any]], markdown: bool = False, head: str = "") -> str:
    parts = [head] if head else []
    for env in envs:
        if env.get("error"):
            parts.append(f"environment {env['env']}: FAILED: {env['error']}")
            continue
        notes = [f"failed to instrument: {n}: {why}" for n, why in env["failed"].items()] + env["checks"]
        parts.append(
            f"environment {env['env']}: openai {env['openai']}, Python {env['python']},"
            f" {env['rounds']} rounds, floor {env['floor_us']:.1f} us"
            + "".join(f"\n  CHECK: {note}" for note in notes)
        )
    ok = [e for e in envs if not e.get("error")]
    if not ok:
        return "\n".join(parts)
    parts += ["", calls_table(ok, markdown), "", render(ratios(ok), markdown), "", per_chunk(ok)]
    main = next((e for e in ok if e["env"] == "main"), None)
    if main and main.get("sdk_alone"):
        rows: list[Sequence[str]] = [
            (
                "call",
                "plain us",
                "SDK alone us",
                "own code us (95% CI)",
                "SDK alone sampled out us",
                "own code sampled out us (95% CI)",
            )
        ]
        for op, found in main["sdk_alone"].items():
            rows.append(
                (
                    op,
                    f"{main['plain_us'][op]:.0f}",
                    f"{found['sdk_us'][0]:.1f}",
                    _interval(found["own_us"]),
                    f"{found['sdk_sampled_out_us'][0]:.1f}",
                    _interval(found["own_sampled_out_us"]),
                )
            )
        parts += ["", render(rows, markdown)]
    missing = [op for op in _ops(ok) if op not in (main or {}).get("sdk_alone", {})]
    if missing:
        parts.append(f"no SDK-alone replay for: {', '.join(missing)}")
    return "\n".join(parts)


def write_docs(path: Path, text: str) -> None:
    """Replace what stands between the markers in docs/performance.md with ``text``."""
    doc = path.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{text}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(doc):
        raise SystemExit(f"{path}: no {BEGIN} ... {END} block to replace")
    path.write_text(pattern.sub(lambda _: block, doc), encoding="utf-8")
