"""Inline SVG charts built from numbers and escaped text only.

The report must open offline with no script library, so charts are plain SVG
strings. Every text that comes from data goes through ``escape`` and every
coordinate is computed here from validated numbers: that is what makes it
acceptable to mark the result as Markup.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from markupsafe import Markup, escape

from detector.findings.finding import SEVERITIES
from reports.fmt import clip, clock, clock_seconds, day_of, hhmm, number
from reports.i18n import _, ngettext

SEVERITY_COLOURS = {
    "info": "#6b7280",
    "low": "#2563eb",
    "medium": "#d97706",
    "high": "#dc2626",
    "critical": "#7f1d1d",
}
HEAT_COLOUR = "#b91c1c"
MAX_HEAT_DATES = 62
MAX_HISTORY_POINTS = 24


def _svg(width: int, height: int, label: str, body: Iterable[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, content: str, anchor: str = "start", css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{escape(content)}</text>'


def severity_bars(counts: dict[str, int]) -> Markup:
    """One horizontal bar per severity, so the mix is readable at a glance and in print."""
    label_width, bar_width, row = 70, 240, 24
    height = row * len(SEVERITIES) + 8
    peak = max([_count(counts.get(s)) for s in SEVERITIES] + [1])
    body = []
    for index, severity in enumerate(reversed(SEVERITIES)):
        value = _count(counts.get(severity))
        y = 4 + index * row
        width = bar_width * value / peak
        body.append(_text(label_width - 6, y + 15, _(severity), "end"))
        body.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="{row - 8}" '
            f'fill="{SEVERITY_COLOURS[severity]}"><title>{escape(_(severity))}: {value}</title></rect>'
        )
        body.append(_text(label_width + width + 6, y + 15, str(value)))
    return _svg(label_width + bar_width + 50, height, _("Findings by severity"), body)


def history_chart(points: list[tuple[float, dict[str, int]]]) -> Optional[Markup]:
    """Stacked bars of findings by severity for each scan, oldest on the left."""
    cleaned = [(ts, counts) for ts, counts in points if number(ts) is not None and isinstance(counts, dict)]
    cleaned = sorted(cleaned, key=lambda p: float(p[0]))[-MAX_HISTORY_POINTS:]
    if not cleaned:
        return None
    left, top, plot_height, slot = 40, 12, 150, 34
    width = left + slot * len(cleaned) + 20
    height = top + plot_height + 40
    totals = [sum(_count(c.get(s)) for s in SEVERITIES) for _, c in cleaned]
    peak = max(totals + [1])
    body = [
        f'<line x1="{left}" y1="{top + plot_height}" x2="{width - 10}" y2="{top + plot_height}" '
        'class="axis"/>',
        _text(left - 6, top + 8, str(peak), "end"),
        _text(left - 6, top + plot_height, "0", "end"),
    ]
    label_every = max(1, len(cleaned) // 8)
    days = [day_of(float(ts)) for ts, _counts in cleaned]
    shared_day = {day for day in days if days.count(day) > 1}  # two scans that day: the time tells them apart
    times = _distinct_times([float(ts) for ts, _counts in cleaned])
    for index, (_ts, counts) in enumerate(cleaned):
        x = left + index * slot + 6
        y = top + plot_height
        for severity in SEVERITIES:
            value = _count(counts.get(severity))
            if not value:
                continue
            bar = plot_height * value / peak
            y -= bar
            body.append(
                f'<rect x="{x}" y="{y:.1f}" width="{slot - 12}" height="{bar:.1f}" '
                f'fill="{SEVERITY_COLOURS[severity]}"><title>{escape(days[index])} {escape(times[index])} '
                f"{escape(_(severity))}: {value}</title></rect>"
            )
        body.append(_text(x + (slot - 12) / 2, y - 3, str(totals[index]), "middle", "small"))
        if index % label_every == 0 or index == len(cleaned) - 1 or days[index] in shared_day:
            body.append(_text(x + (slot - 12) / 2, top + plot_height + 16, days[index][5:], "middle", "small"))
            if days[index] in shared_day:
                body.append(_text(x + (slot - 12) / 2, top + plot_height + 28, times[index], "middle", "small"))
    return _svg(width, height, _("Findings per scan, by severity"), body)


def _distinct_times(stamps: list[float]) -> list[str]:
    """Each scan's time of day, to the minute, or to the second where two scans share a minute."""
    minutes = [f"{day_of(ts)} {clock(ts)}" for ts in stamps]
    return [clock(ts) if minutes.count(minute) == 1 else clock_seconds(ts) for ts, minute in zip(stamps, minutes)]


def heatmap(data: Any) -> Optional[Markup]:
    """Hour-of-day x date grid of Wi-Fi drops for one AP, recurring window outlined."""
    if not isinstance(data, dict):
        return None
    dates = [clip(d, 10) for d in data.get("dates") or [] if isinstance(d, str)]
    if not dates:
        return None
    offset = max(0, len(dates) - MAX_HEAT_DATES)
    dates = dates[offset:]
    cells = _heat_cells(data.get("cells"), offset, len(dates))
    left, top, cell_w, cell_h = 84, 22, 18, 14
    width = left + 24 * cell_w + 10
    height = top + cell_h * len(dates) + 30
    peak = max([count for _, _, count in cells] + [1])
    ap = clip(data.get("ap"), 60) or _("unknown access point")
    body = [
        _text(left + hour * cell_w + cell_w / 2, top - 8, f"{hour:02d}", "middle", "small")
        for hour in range(24)
    ]
    for row, day in enumerate(dates):
        y = top + row * cell_h
        body.append(_text(left - 6, y + cell_h - 3, day, "end", "small"))
        body.append(f'<rect x="{left}" y="{y}" width="{24 * cell_w}" height="{cell_h}" class="heat-bg"/>')
    for row, hour, count in cells:
        drops = ngettext("%(num)d drop", "%(num)d drops", count)
        opacity = 0.2 + 0.8 * count / peak
        body.append(
            f'<rect x="{left + hour * cell_w + 1}" y="{top + row * cell_h + 1}" width="{cell_w - 2}" '
            f'height="{cell_h - 2}" fill="{HEAT_COLOUR}" fill-opacity="{opacity:.2f}">'
            f"<title>{escape(dates[row])} {hour:02d}:00 - {escape(drops % {'num': count})}</title></rect>"
        )
    body.extend(_window_marks(data.get("window"), left, top, cell_w, cell_h * len(dates)))
    caption = _("Wi-Fi drops by hour of day and date for {ap}").format(ap=ap)
    window_text = _window_text(data.get("window"))
    if window_text:
        body.append(_text(left, height - 8, _("Dashed box: recurring window {window}").format(window=window_text),
                          "start", "small"))
    return _svg(width, height, caption, body)


def _heat_cells(raw: Any, offset: int, rows: int) -> list[tuple[int, int, int]]:
    cells = []
    for cell in raw if isinstance(raw, (list, tuple)) else []:
        if not isinstance(cell, (list, tuple)) or len(cell) < 3:
            continue
        values = [number(v) for v in cell[:3]]
        if any(v is None for v in values):
            continue
        row, hour, count = int(values[0]) - offset, int(values[1]), int(values[2])
        if 0 <= row < rows and 0 <= hour < 24 and count > 0:
            cells.append((row, hour, count))
    return cells


def _window_minutes(window: Any) -> Optional[tuple[int, int]]:
    if not isinstance(window, (list, tuple)) or len(window) != 2:
        return None
    start, end = number(window[0]), number(window[1])
    if start is None or end is None:
        return None
    return int(start) % 1440, int(end) % 1440


def _window_text(window: Any) -> str:
    minutes = _window_minutes(window)
    if minutes is None:
        return ""
    return f"{hhmm(minutes[0])}-{hhmm(minutes[1])}"


def _window_marks(window: Any, left: int, top: int, cell_w: int, plot_h: int) -> list[str]:
    minutes = _window_minutes(window)
    if minutes is None:
        return []
    start, end = minutes
    spans = [(start, end)] if start <= end else [(start, 1440), (0, end)]
    marks = []
    for begin, finish in spans:
        x = left + begin * cell_w / 60
        w = max(2.0, (finish - begin) * cell_w / 60)
        marks.append(
            f'<rect x="{x:.1f}" y="{top - 2}" width="{w:.1f}" height="{plot_h + 4}" class="heat-window"/>'
        )
    return marks


def _count(value: Any) -> int:
    amount = number(value)
    return max(0, int(amount)) if amount is not None else 0
