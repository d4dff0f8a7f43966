"""The first-party snippet as served at /t.js: its source, trimmed, with a content hash."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from django.contrib.staticfiles import finders

SOURCE = "tracking/t.js"
HEADER = "/* leadflow t.js: the documented source is static/tracking/t.js in leadflow */\n"

# Only whole-line comments and `/* ... */` with spaces inside are dropped: the source is written
# so that neither shape ever occurs inside a string or a regular expression.
_INLINE_COMMENT = re.compile(r"\s*/\* [^*]* \*/\s*")


@dataclass(frozen=True)
class Snippet:
    body: bytes
    version: str  # a hash of the body: the ETag, and `?v=` for URLs cached for good

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def snippet_trim(source: str) -> str:
    """Drop the documentation header, comments and indentation; keep one statement a line."""
    header, _, code = source.partition("*/\n")
    if not header.lstrip().startswith("/**"):
        code = source
    lines = []
    for line in code.splitlines():
        line = _INLINE_COMMENT.sub(" ", line).strip()
        if line and not line.startswith("//"):
            lines.append(line)
    return HEADER + "\n".join(lines) + "\n"


def snippet_get() -> Snippet:
    path = Path(finders.find(SOURCE))
    # Keyed by modification time: an edited source is served at once, without a restart.
    return _snippet_build(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _snippet_build(path: Path, mtime_ns: int) -> Snippet:
    body = snippet_trim(path.read_text()).encode()
    return Snippet(body=body, version=hashlib.sha256(body).hexdigest()[:16])
