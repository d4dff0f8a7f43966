"""The benchmark's output: progress bars while it runs, then a table and BENCHMARKS.md."""

from __future__ import annotations

import math
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


class Progress:
    """A progress bar on stderr (a line each quarter when stderr is not a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.label = ""
        self.started = 0.0
        self.quarter = -1

    def __call__(self, label: str, done: float, total: float) -> None:
        if label != self.label:
            self.label, self.started, self.quarter = label, time.monotonic(), -1
        fraction = 0.0 if not total else min(1.0, done / total)
        elapsed = time.monotonic() - self.started
        if self.tty:
            filled = int(fraction * 30)
            bar = "#" * filled + "." * (30 - filled)
            sys.stderr.write(f"\r  {label:<28} [{bar}] {fraction:4.0%} {elapsed:5.1f} s")
            if fraction >= 1:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif int(fraction * 4) > self.quarter:
            self.quarter = int(fraction * 4)
            print(f"  {label}: {fraction:.0%} ({elapsed:.1f} s)", file=sys.stderr, flush=True)


_BEGAN = time.monotonic()


def step(text: str) -> None:
    print(f"==> {text}  [{time.monotonic() - _BEGAN:.0f} s]", file=sys.stderr, flush=True)


@dataclass
class Figure:
    path: str
    measure: str
    values: list[float]
    unit: str = ""
    floor: float | None = None
    floor_label: str = ""
    target: str = ""
    # (value, "min" or "max") the median must reach; None: no verdict.
    bound: tuple[float, str] | None = None
    note: str = ""
    text: str = ""  # instead of numbers ("not built yet")

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    def verdict(self) -> str:
        if self.text or self.bound is None or not self.values:
            return ""
        value, kind = self.bound
        ok = self.median >= value if kind == "min" else self.median <= value
        return "meets" if ok else "**misses**"

    def ratio(self) -> str:
        if self.floor is None or not self.values or not self.floor:
            return ""
        return f"{self.median / self.floor:.2f}x"


def fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def table(figures: list[Figure]) -> str:
    lines = [
        "| hot path | measure | min | median | max | floor (same run) | ratio | target | |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | --- | --- |",
    ]
    for f in figures:
        if f.text:
            lines.append(f"| {f.path} | {f.measure} | {f.text} | | | | | {f.target} | |")
            continue
        floor = f"{fmt(f.floor, f.unit)} {f.floor_label}".strip() if f.floor is not None else "—"
        lines.append(
            f"| {f.path} | {f.measure} | {fmt(min(f.values), f.unit) if f.values else '—'} | "
            f"{fmt(f.median, f.unit)} | {fmt(max(f.values), f.unit) if f.values else '—'} | "
            f"{floor} | {f.ratio()} | {f.target} | {f.verdict()} |"
        )
    return "\n".join(lines)


def terminal_table(figures: list[Figure]) -> str:
    rows = [("hot path", "measure", "median", "min..max", "floor", "ratio", "target", "")]
    for f in figures:
        if f.text:
            rows.append((f.path, f.measure, f.text, "", "", "", f.target, ""))
            continue
        rows.append(
            (
                f.path,
                f.measure,
                fmt(f.median, f.unit),
                f"{fmt(min(f.values))}..{fmt(max(f.values))}" if f.values else "",
                fmt(f.floor, f.unit) if f.floor is not None else "—",
                f.ratio(),
                f.target,
                f.verdict().strip("*"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


@dataclass
class Run:
    scale: str
    command: str
    machine: dict[str, str]
    figures: list[Figure]
    notes: list[str] = field(default_factory=list)
    profile: str = ""


HEADER = """# Benchmarks

Produced by `make bench SCALE=...` (the `bench/` package): it creates its own database
(`leadflow_bench_<scale>` on `DATABASE_URL`'s server, or the embedded PostgreSQL), generates the
data, starts gunicorn with production's `gunicorn.conf.py` (`DEBUG=0`, the rate limiter on with
a budget the load never reaches) and
a real Celery worker on its own queue and Redis database, measures every hot path of the
design's "Numbers to reach" beside its physical floor measured in the same run, and stops
everything again. Each figure is the min /
median / max of several runs; the ratio is the median over the floor's median. The load
generator (`bench/load.py`, raw asyncio sockets) runs on the same machine against 127.0.0.1 and
reports the CPU it took, since the machine has two cores for everything.

```
make bench SCALE=small                          # ~2,000 leads, 40,000 events: CI's smoke test
make bench SCALE=medium BENCH_ARGS="--profile"  # 100,000 leads, 2 M events, py-spy profiles
make bench SCALE=large                          # 1 M leads, 20 M events (~25 GB of disk)
```

`DATABASE_URL` picks the PostgreSQL server (unset: the embedded one), `REDIS_URL` the Redis
server (unset: 127.0.0.1:6379). Each scale's section below is rewritten by its own run; text
outside the marked sections (the analysis) is kept.
"""


def section(run: Run) -> str:
    machine = "\n".join(f"- {k}: {v}" for k, v in run.machine.items())
    notes = "\n".join(f"- {note}" for note in run.notes)
    profile = (
        f"\n\n#### Profile (py-spy, during the ingest runs)\n\n{run.profile}" if run.profile else ""
    )
    return (
        f"<!-- bench:{run.scale}:start -->\n"
        f"## `{run.scale}`\n\n"
        f"Reproduce: `{run.command}`\n\n"
        f"{machine}\n\n"
        f"{table(run.figures)}\n\n"
        f"{notes}{profile}\n"
        f"<!-- bench:{run.scale}:end -->"
    )


ORDER = ["small", "medium", "large"]
ANALYSIS = "<!-- bench:analysis -->"  # the hand-written part: sections go before it


def write(path: Path, run: Run) -> None:
    """Put this run's section in BENCHMARKS.md, replacing the same scale's, keeping the rest."""
    text = path.read_text() if path.exists() else HEADER
    block = section(run)
    pattern = re.compile(
        rf"<!-- bench:{run.scale}:start -->.*?<!-- bench:{run.scale}:end -->", re.DOTALL
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        # Before the section of the next larger scale, so the file reads small, medium, large.
        later = [s for s in ORDER[ORDER.index(run.scale) + 1 :] if f"<!-- bench:{s}:start" in text]
        if run.scale in ORDER and later:
            marker = f"<!-- bench:{later[0]}:start -->"
            text = text.replace(marker, f"{block}\n\n{marker}", 1)
        elif ANALYSIS in text:
            text = text.replace(ANALYSIS, f"{block}\n\n{ANALYSIS}", 1)
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
