"""What the report page and its CSV exports show: the same tables, built once.

Every figure is formatted here, to a string, so that the page and the CSV cannot disagree. The
charts are drawn from the same numbers as plain coordinates for the SVG templates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stages.models import DisqualifyReason

from . import queries
from .queries import Period

DAY = 86400.0


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    # Per cell, a shade between 0 and 1 (the cohort table) or None; same shape as rows.
    shades: list[list[float | None]] | None = None

    def cells(self) -> list[list[dict[str, Any]]]:
        """Rows for the page: each cell's text, and its shade as a CSS alpha (or "")."""
        shades = self.shades or [[None] * len(self.columns) for _ in self.rows]
        return [
            [
                {"text": text, "shade": "" if shade is None else f"{0.08 + 0.72 * shade:.2f}"}
                for text, shade in zip(row, row_shades, strict=True)
            ]
            for row, row_shades in zip(self.rows, shades, strict=True)
        ]


@dataclass
class Section:
    key: str
    title: str
    tables: list[Table]
    chart: dict[str, Any] | None = None


@dataclass(frozen=True)
class Scope:
    """What a user may see: everything, or one SDR's and/or one AE's own figures."""

    everything: bool = False
    sdr_id: int | None = None
    ae_id: int | None = None


def count(n: int | None) -> str:
    return str(n or 0)


def rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def days(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / DAY:.1f}"


def hours(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f}"


def money(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)):.2f}"


def _label(value: str | None) -> str:
    return value if value else "(none)"


# -- sections --


def funnel_section(period: Period, scope: Scope, **_: Any) -> Section:
    f = queries.funnel(period)
    steps = [
        ("Visitors", f["visitors"], None, None),
        ("Leads", f["leads"], f["leads_to_mql"], "to MQL"),
        ("MQLs", f["mqls"], f["mqls_to_sql"], "to SQL"),
        ("SQLs (from MQL)", f["sqls"], f["sqls_to_customer"], "to customer"),
        ("Customers (from MQL)", f["customers"], None, None),
        ("Direct-to-SQL", f["direct_sqls"], f["direct_sqls_to_customer"], "to customer"),
        ("Customers (direct)", f["direct_customers"], None, None),
    ]
    table = Table(
        "funnel",
        "Funnel: first entries in the period",
        ["Stage", "Entered", "Went on", "Step conversion"],
    )
    for label, entered, went_on, _ in steps:
        table.rows.append(
            [
                label,
                count(entered),
                "—" if went_on is None else count(went_on),
                "—" if went_on is None else rate(went_on, entered),
            ]
        )
    summary = Table("funnel_summary", "End to end and side flows", ["Figure", "Value"])
    summary.rows = [
        ["Visitor → lead (leads ÷ visitors)", rate(f["leads"], f["visitors"])],
        ["Lead → customer (of the period's leads)", rate(f["leads_to_customer"], f["leads"])],
        ["Leads won (of the period's leads)", count(f["leads_to_customer"])],
        ["MQLs disqualified later", count(f["mqls_disqualified"])],
        ["MQLs recycled later", count(f["mqls_recycled"])],
        ["MQLs qualified again after a recycle", count(f["mqls_requalified"])],
        ["Recycles in the period (first after MQL)", count(f["recycled"])],
        ["Won value in the period", money(f["won_value"])],
    ]
    widest = max([n for _, n, *_ in steps] + [1])
    bars = [
        {
            "label": label,
            "value": n,
            "width": round(600 * n / widest, 1),
            "y": 10 + i * 34,
            "direct": label.startswith(("Direct", "Customers (direct")),
        }
        for i, (label, n, *_) in enumerate(steps)
    ]
    chart = {"bars": bars, "height": 20 + len(bars) * 34}
    return Section("funnel", "Funnel", [table, summary], chart)


def cohorts_section(period: Period, scope: Scope, **_: Any) -> Section:
    table = Table(
        "cohorts",
        "Cohorts: leads by the month they became leads, and where they are now",
        [
            "Month",
            "Leads",
            "Reached MQL",
            "MQL rate",
            "Reached SQL",
            "SQL rate",
            "Customers",
            "Customer rate",
            "Median days to MQL",
            "Median days to SQL",
            "Median days to customer",
        ],
    )
    table.shades = []
    for row in queries.cohorts(period):
        leads = row["leads"]
        table.rows.append(
            [
                row["month"].strftime("%Y-%m"),
                count(leads),
                count(row["mqls"]),
                rate(row["mqls"], leads),
                count(row["sqls"]),
                rate(row["sqls"], leads),
                count(row["customers"]),
                rate(row["customers"], leads),
                _days(row["days_to_mql"]),
                _days(row["days_to_sql"]),
                _days(row["days_to_customer"]),
            ]
        )
        shade = [row[k] / leads if leads else 0 for k in ("mqls", "sqls", "customers")]
        table.shades.append(
            [None, None, None, shade[0], None, shade[1], None, shade[2], None, None, None]
        )
    return Section("cohorts", "Cohorts", [table])


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def breakdowns_section(period: Period, scope: Scope, *, dimension: str, **_: Any) -> Section:
    label, _ = queries.DIMENSIONS[dimension]
    table = Table(
        "breakdown",
        f"Breakdown by {label.lower()}",
        [
            label,
            "Leads",
            "Lead → MQL",
            "MQLs",
            "MQL → SQL",
            "SQLs (from MQL)",
            "SQL → customer",
            "Customers",
            "Direct-to-SQL",
            "Won value",
        ],
    )
    for row in queries.breakdown(period, dimension):
        table.rows.append(
            [
                _label(row["value"]),
                count(row["leads"]),
                rate(row["leads_to_mql"], row["leads"]),
                count(row["mqls"]),
                rate(row["mqls_to_sql"], row["mqls"]),
                count(row["sqls"]),
                rate(row["sqls_to_customer"], row["sqls"]),
                count(row["customers"] + row["direct_customers"]),
                count(row["direct_sqls"]),
                money(row["won_value"]),
            ]
        )
    return Section("breakdowns", "Breakdowns", [table])


def velocity_section(period: Period, scope: Scope, **_: Any) -> Section:
    table = Table(
        "velocity",
        "Velocity: steps completed in the period (days)",
        ["Step", "Leads", "Median days", "90th percentile days"],
    )
    for row in queries.velocity(period):
        table.rows.append([row["label"], count(row["n"]), days(row["p50"]), days(row["p90"])])
    trend_rows = queries.velocity_trend(period)
    steps = queries.STEPS[:4]
    trend = Table(
        "velocity_trend",
        "Weekly trend: median days of each step, by the week it was completed",
        ["Week of", *[label for _, label, *_ in steps]],
    )
    for row in trend_rows:
        trend.rows.append(
            [row["week"].isoformat(), *[days(row[f"{key}_p50"]) for key, *_ in steps]]
        )
    return Section("velocity", "Velocity", [table, trend], _trend_chart(trend_rows, steps))


def _trend_chart(rows: list[dict[str, Any]], steps: list[tuple]) -> dict[str, Any]:
    width, height, left, top, bottom = 640, 220, 44, 12, 28
    values = [row[f"{key}_p50"] / DAY for row in rows for key, *_ in steps if row[f"{key}_p50"]]
    top_value = max([*values, 1.0])
    span = max(len(rows) - 1, 1)

    def x(i: int) -> float:
        return round(left + (width - left - 10) * i / span, 1)

    def y(v: float) -> float:
        return round(top + (height - top - bottom) * (1 - v / top_value), 1)

    lines = []
    for n, (key, label, *_) in enumerate(steps):
        points = [
            (x(i), y(row[f"{key}_p50"] / DAY))
            for i, row in enumerate(rows)
            if row[f"{key}_p50"] is not None
        ]
        lines.append(
            {
                "key": key,
                "label": label,
                "series": n,
                "points": " ".join(f"{px},{py}" for px, py in points),
                "dots": points,
            }
        )
    ticks = [{"y": y(top_value * f), "label": f"{top_value * f:.0f}"} for f in (0, 0.5, 1)]
    labels = [
        {"x": x(i), "label": row["week"].strftime("%d %b")}
        for i, row in enumerate(rows)
        if i % max(1, len(rows) // 6) == 0
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "bottom": height - bottom,
        "right": width - 10,
        "lines": lines,
        "ticks": ticks,
        "labels": labels,
    }


def team_section(period: Period, scope: Scope, **_: Any) -> Section:
    tables = []
    if scope.everything or scope.sdr_id is not None:
        sdr = Table(
            "sdr",
            "SDRs: the period's MQLs, by the SDR credited with each",
            [
                "SDR",
                "MQLs",
                "Touched",
                "Median hours to first touch",
                "90th percentile hours",
                "SLA breaches",
                "Attempts per MQL",
                "SQLs",
                "MQL → SQL",
            ],
        )
        rows = queries.sdr_performance(period, sdr_id=None if scope.everything else scope.sdr_id)
        for row in rows:
            sdr.rows.append(
                [
                    _label(row["sdr"]) if row["sdr_id"] else "(unassigned)",
                    count(row["mqls"]),
                    count(row["touched"]),
                    hours(row["touch_p50"]),
                    hours(row["touch_p90"]),
                    count(row["sla_breaches"]),
                    f"{row['attempts'] / row['mqls']:.2f}" if row["mqls"] else "—",
                    count(row["sqls"]),
                    rate(row["sqls"], row["mqls"]),
                ]
            )
        tables.append(sdr)
    if scope.everything or scope.ae_id is not None:
        ae = Table(
            "ae",
            "AEs: the period's SQLs by the AE each was handed to, and deals won in the period",
            ["AE", "SQLs", "Won of those", "SQL → customer", "Deals won", "Won value"],
        )
        rows = queries.ae_performance(period, ae_id=None if scope.everything else scope.ae_id)
        for row in rows:
            ae.rows.append(
                [
                    _label(row["ae"]) if row["ae_id"] else "(no AE)",
                    count(row["sqls"]),
                    count(row["sqls_won"]),
                    rate(row["sqls_won"], row["sqls"]),
                    count(row["won"]),
                    money(row["won_value"]),
                ]
            )
        tables.append(ae)
    return Section("team", "Team", tables)


def quality_section(period: Period, scope: Scope, **_: Any) -> Section:
    funnel = queries.funnel(period)
    mqls = funnel["mqls"]
    reasons = Table(
        "quality_reasons",
        "MQLs of the period later disqualified or recycled, and why",
        ["Outcome", "Reason", "MQLs", "Share of the period's MQLs"],
    )
    reasons.rows.append(
        ["disqualified", "(all reasons)", count(funnel["mqls_disqualified"]),
         rate(funnel["mqls_disqualified"], mqls)]
    )  # fmt: skip
    reasons.rows.append(
        ["recycled", "(all reasons)", count(funnel["mqls_recycled"]),
         rate(funnel["mqls_recycled"], mqls)]
    )  # fmt: skip
    for row in queries.quality_reasons(period):
        reason = row["reason"]
        if row["outcome"] == "disqualified" and reason in DisqualifyReason.values:
            reason = DisqualifyReason(reason).label
        reasons.rows.append([row["outcome"], _label(reason), count(row["n"]),
                             rate(row["n"], mqls)])  # fmt: skip
    by_source = Table(
        "quality_sources",
        "SQL → customer by source (the period's SQLs, both paths)",
        ["First-touch source", "SQLs", "Won", "SQL → customer"],
    )
    for row in queries.sql_to_customer_by_source(period):
        by_source.rows.append(
            [_label(row["source"]), count(row["sqls"]), count(row["won"]),
             rate(row["won"], row["sqls"])]
        )  # fmt: skip
    return Section("quality", "Quality", [reasons, by_source])


SECTIONS: dict[str, tuple[str, Callable[..., Section]]] = {
    "funnel": ("Funnel", funnel_section),
    "cohorts": ("Cohorts", cohorts_section),
    "breakdowns": ("Breakdowns", breakdowns_section),
    "velocity": ("Velocity", velocity_section),
    "team": ("Team", team_section),
    "quality": ("Quality", quality_section),
}


def sections_for(scope: Scope) -> list[str]:
    """The sections a scope may see: all of them, or only the team's own figures."""
    return list(SECTIONS) if scope.everything else ["team"]
