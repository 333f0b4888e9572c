"""Chart data for the console's グラフ page, drawn in the browser by the vendored Chart.js
(static/vendor/chartjs/, see static/vendor/README.md: nothing is loaded from a CDN).

Each chart is a plain dict in Chart.js's ``data`` shape (``labels`` + ``datasets``), built
from the report queries; the page embeds them all as one JSON value in a
``<script type="application/json">`` element (``script_json``: ``<``, ``>`` and ``&`` written
as \\u escapes, so no value can close the element or open a tag).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from markupsafe import Markup
from sqlalchemy.engine import Connection

from sync.server.console.reports import (
    TRANSIT_IC,
    Grouping,
    Period,
    RatingRow,
    RevenuePoint,
    Scope,
    TenderMix,
    VisitRow,
    revenue_by_facility,
    satisfaction,
    tender_mix,
    visits,
)
from terminal.tenders import TENDER_LABELS

CHART_SCRIPT: Final = "/console/static/vendor/chartjs/chart.umd.min.js"
PALETTE: Final = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                  "#bcbd22", "#17becf", "#aec7e8", "#98df8a", "#c5b0d5", "#c49c94",
                  "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5", "#393b79")
HIGHLIGHT: Final = "#d62728"  # transit IC (Hachica): the one colour no facility uses
TENDER_TONES: Final = ("#9ecae1", "#6baed6", "#c6dbef", "#bdbdbd", "#969696", "#d9d9d9")
_ESCAPES: Final = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                   "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value: object) -> Markup:
    """``value`` as JSON safe inside ``<script type="application/json">``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in _ESCAPES.items():
        text = text.replace(char, escape)
    return Markup(text)


def _series(points: Iterable[tuple[str, str, int]]) -> dict[str, Any]:
    """(period, facility, value) -> labels = the periods, one dataset per facility (0 where
    a facility has nothing that period)."""
    cells: dict[tuple[str, str], int] = {}
    for period, facility, value in points:
        cells[(period, facility)] = cells.get((period, facility), 0) + value
    labels = sorted({p for p, _ in cells})
    facilities = sorted({f for _, f in cells})
    return {"labels": labels, "datasets": [
        {"label": facility, "data": [cells.get((p, facility), 0) for p in labels],
         "borderColor": PALETTE[i % len(PALETTE)],
         "backgroundColor": PALETTE[i % len(PALETTE)]}
        for i, facility in enumerate(facilities)]}


def revenue_chart(points: Iterable[RevenuePoint]) -> dict[str, Any]:
    return _series((p.period, p.facility, p.total) for p in points)


def visits_chart(rows: Iterable[VisitRow]) -> dict[str, Any]:
    return _series((r.period, r.facility, r.visits) for r in rows)


def tender_chart(mix: TenderMix) -> dict[str, Any]:
    """One doughnut over all facilities in scope; transit IC in the highlight colour and
    pulled out, its share (percent, one decimal) beside the data."""
    labels: Mapping[str, str] = {str(k): v for k, v in TENDER_LABELS.items()}
    kinds = [k for k in labels if k in mix.overall] + sorted(
        k for k in mix.overall if k not in labels)
    return {
        "labels": [labels.get(k, k) for k in kinds],
        "kinds": kinds,
        "datasets": [{
            "label": "支払方法別 (by tender)",
            "data": [mix.overall[k] for k in kinds],
            # transit IC stands out in red; the other tenders keep distinct muted blues/greys
            "backgroundColor": [HIGHLIGHT if k == TRANSIT_IC else TENDER_TONES[i % len(
                TENDER_TONES)] for i, k in enumerate(kinds)],
            "offset": [24 if k == TRANSIT_IC else 0 for k in kinds],
        }],
        "transit_ic_share_percent": round(mix.transit_ic_share * 100, 1),
    }


def satisfaction_chart(rows: Iterable[RatingRow]) -> dict[str, Any]:
    listed = list(rows)
    return {
        "labels": [r.facility for r in listed],
        "counts": [r.count for r in listed],
        "datasets": [{"label": "平均評価 (average, 1-5)", "data": [r.average for r in listed],
                      "backgroundColor": PALETTE[0]}],
    }


def chart_data(conn: Connection, facilities: Scope, period: Period) -> dict[str, Any]:
    """Every chart of the page for ``period`` (daily points; monthly over a fiscal year)."""
    grouping: Grouping = "day" if period.first[:7] == period.last[:7] else "month"
    return {
        "revenue": revenue_chart(revenue_by_facility(conn, facilities, period, grouping)),
        "tenders": tender_chart(tender_mix(conn, facilities, period)),
        "visits": visits_chart(visits(conn, facilities, period, grouping)),
        "satisfaction": satisfaction_chart(satisfaction(conn, facilities, period)),
        "grouping": grouping,
    }
