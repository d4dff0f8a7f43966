"""Summarize a py-spy profile (`--format raw`: one collapsed stack and its count a line)."""

from __future__ import annotations

import re
from collections import Counter

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")
PROJECT = ("leadflow/", "stages/", "scoring/", "bench/")


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for part in stack.split(";"):
        match = _FRAME.match(part.strip())
        if match:
            frames.append((match["func"], match["file"]))
        else:
            frames.append((part.strip(), ""))
    return frames


def _short(file: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def _kind(frames: list[tuple[str, str]]) -> str:
    files = " ".join(file for _, file in frames)
    leaf_func, leaf_file = frames[-1] if frames else ("", "")
    if "django/core/handlers" not in files:
        # The master, its control thread, a worker waiting in accept: no request in hand.
        return "idle: waiting for a request"
    if "psycopg" in files and (
        "wait" in leaf_func or "psycopg/waiting" in leaf_file or "selectors" in leaf_file
    ):
        return "waiting on PostgreSQL"
    if "redis" in files or "kombu" in files:
        return "Redis and the broker"
    return "CPU in Python"


def summarize(raw: str, *, top: int = 12) -> str:
    """A breakdown (idle, PostgreSQL, Redis, CPU) and the heaviest functions, as Markdown."""
    kinds: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = _frames(stack)
        kind = _kind(frames)
        kinds[kind] += n
        total += n
        if kind.startswith("idle"):
            continue
        func, file = frames[-1]
        leaves[f"{func} ({_short(file)})"] += n
        seen = set()
        for func, file in frames:
            if any(p in file for p in PROJECT) or "django/" in file:
                name = f"{func} ({_short(file)})"
                if name not in seen:
                    seen.add(name)
                    inclusive[name] += n
    if not total:
        return "(no samples)"
    busy = total - sum(v for k, v in kinds.items() if k.startswith("idle"))
    lines = ["| where the workers' time went | share of samples |", "| --- | ---: |"]
    lines += [f"| {k} | {v / total:.0%} |" for k, v in kinds.most_common()]
    lines += ["", "Heaviest functions (share of the busy samples, callees included):", ""]
    lines += ["| function | busy share |", "| --- | ---: |"]
    skip = ("__call__", "get_response", "inner", "_get_response", "handle", "handle_request")
    shown = 0
    for name, n in inclusive.most_common():
        if name.split(" (")[0] in skip or "django/core/handlers" in name:
            continue
        lines.append(f"| `{name}` | {n / busy:.0%} |")
        shown += 1
        if shown >= top:
            break
    lines += ["", "Hottest leaf frames (self time):", ""]
    lines += ["| frame | busy share |", "| --- | ---: |"]
    lines += [f"| `{name}` | {n / busy:.0%} |" for name, n in leaves.most_common(8)]
    return "\n".join(lines)
