"""``timeline --html FILE``: one self-contained page, a waterfall of the calls and the story.

Inline CSS and SVG only: no scripts, fonts, images or links to fetch, so the page opens
offline and can be attached to an incident ticket. It shows what the text shows (ids,
statuses, timings, codes), never content.
"""

from __future__ import annotations

from html import escape

from .. import semconv as sc
from .spans import Span
from .story import Story
from .timeline import call_line, render_text

BAR_OK = "#1a73e8"
BAR_FAILED = "#d93025"
EVENT_TICK = "#202124"
LABEL_WIDTH, CHART_WIDTH, ROW, TOP = 380, 760, 22, 34

_STYLE = """
body { font: 13px/1.4 system-ui, sans-serif; margin: 24px; color: #202124; background: #fff; }
h1 { font-size: 18px; margin: 0 0 4px; }
.meta { color: #5f6368; margin-bottom: 16px; }
svg text { font: 12px ui-monospace, monospace; fill: #202124; }
svg .thread { font-weight: bold; }
svg .axis { fill: #5f6368; }
pre { background: #f8f9fa; border: 1px solid #dadce0; padding: 12px; white-space: pre-wrap; font-size: 12px; }
.legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 14px; vertical-align: -2px; }
"""


def render_html(story: Story) -> str:
    """The page for one story."""
    title = f"timeline of {story.needle}"
    legend = (
        f'<div class="legend"><span style="background:{BAR_OK}"></span>call'
        f'<span style="background:{BAR_FAILED}"></span>failed call'
        f'<span style="background:{EVENT_TICK}"></span>event (status change, step, message)</div>'
    )
    story_text = "\n".join(render_text(story))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<div class="meta">found as {escape(", ".join(story.matched))} in {escape(story.source)}; '
        f"{len(story.threads)} thread(s), {len(story.calls)} call(s)</div>"
        f"{legend}{waterfall(story)}"
        f"<h2>Story</h2><pre>{escape(story_text)}</pre>"
        "</body></html>\n"
    )


def waterfall(story: Story) -> str:
    """An SVG with one row per call, grouped by thread; bar length is the call's duration."""
    calls = story.calls
    if not calls:
        return "<p>no calls</p>"
    origin = min(c.start_ns for c in calls)
    total = max(max(c.end_ns for c in calls) - origin, 1)
    groups = [(f"thread {t.thread_id}", t.calls) for t in story.threads]
    if story.other_calls:
        groups.append(("outside any thread", story.other_calls))
    rows: list[str] = []
    y = TOP
    for heading, spans in groups:
        rows.append(f'<text class="thread" x="4" y="{y + 15}">{escape(heading)}</text>')
        y += ROW
        for span in spans:
            rows.append(_row(span, y, origin, total))
            y += ROW
    height = y + 8
    width = LABEL_WIDTH + CHART_WIDTH + 80
    return (
        f'<svg width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="waterfall of {len(calls)} calls">'
        f"{_axis(total, height)}{''.join(rows)}</svg>"
    )


def _axis(total_ns: int, height: int) -> str:
    parts = []
    for step in range(5):
        x = LABEL_WIDTH + CHART_WIDTH * step / 4
        label = f"{total_ns * step / 4 / 1e6:.0f} ms"
        parts.append(f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height}" stroke="#e8eaed"/>')
        parts.append(f'<text class="axis" x="{x + 2:.1f}" y="14">{label}</text>')
    return "".join(parts)


def _row(span: Span, y: int, origin: int, total: int) -> str:
    scale = CHART_WIDTH / total
    x = LABEL_WIDTH + (span.start_ns - origin) * scale
    width = max(3.0, (span.end_ns - span.start_ns) * scale)
    colour = BAR_FAILED if span.status == "ERROR" else BAR_OK
    tooltip = escape(call_line(span, origin))
    parts = [
        f'<text x="16" y="{y + 15}">{escape(_label(span))}</text>',
        f'<rect x="{x:.1f}" y="{y + 4}" width="{width:.1f}" height="{ROW - 8}" rx="2" fill="{colour}">'
        f"<title>{tooltip}</title></rect>",
        f'<text class="axis" x="{x + width + 4:.1f}" y="{y + 15}">{span.duration_ms:.1f} ms</text>',
    ]
    for event in span.events:
        ex = LABEL_WIDTH + (event.time_ns - origin) * scale
        parts.append(
            f'<rect x="{ex - 1:.1f}" y="{y + 2}" width="2" height="{ROW - 4}" fill="{EVENT_TICK}">'
            f"<title>{escape(event.name)}</title></rect>"
        )
    return "".join(parts)


def _label(span: Span) -> str:
    attrs = span.attributes
    for key in (sc.RUN_STEP_ID, sc.MESSAGE_ID, sc.RUN_ID):
        if attrs.get(key):
            return f"{span.name} {_short(str(attrs[key]))}"
    return span.name


def _short(identifier: str) -> str:
    return identifier if len(identifier) <= 22 else identifier[:20] + "…"
