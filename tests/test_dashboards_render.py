"""dashboards/tools/render.py draws the pictures docs/dashboards.md shows, from the test data."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

import dashboard_tools as tools

pytest.importorskip("duckdb_kql", reason="duckdb-kql needs Python 3.11+")
PNG = b"\x89PNG\r\n\x1a\n"


def _render_module() -> Any:
    spec = importlib.util.spec_from_file_location("dashboard_render", tools.TOOLS / "render.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_render_draws_every_section(tmp_path: Path) -> None:
    written = _render_module().render(tmp_path)
    assert [p.name for p in written] == [
        f"dashboard-{s}.png" for s in ("health", "runs", "safety", "thread", "anomalies")
    ]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, path.name


def test_docs_show_the_committed_pictures() -> None:
    doc = (tools.ROOT / "docs" / "dashboards.md").read_text()
    shown = set(re.findall(r"\]\(img/(dashboard-[a-z]+\.png)\)", doc))
    committed = {p.name for p in (tools.ROOT / "docs" / "img").glob("dashboard-*.png")}
    assert shown == committed and len(shown) == 5
    for name in committed:
        assert (tools.ROOT / "docs" / "img" / name).read_bytes().startswith(PNG)
