"""Read every byte a deployment keeps and look for source identifiers in the clear.

Every store means every file under the given roots: the SQLite event stores with their ``-wal``
and ``-shm`` files, the command logs (they live in the event stores), the key stores, the
monitor's store, the JetStream stream files (``var/nats``), the services' logs. A source
identifier may show up in the clear (the number itself) or as an unkeyed derivation of it that
anyone can recompute (the uuid5 of the old lookup aggregates); the caller names the forms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID


@dataclass(frozen=True)
class Finding:
    path: Path
    label: str
    """What was found, as the caller labelled it (never the identifier itself)."""


def clear_forms(value: str) -> list[bytes]:
    """The byte forms a text identifier takes in the stores: UTF-8, as JSON escapes it, and
    UTF-16 (a SQLite database may be UTF-16)."""
    forms = {value.encode(), json.dumps(value)[1:-1].encode(), value.encode("utf-16-le")}
    return sorted(forms)


def uuid_forms(value: UUID) -> list[bytes]:
    return [str(value).encode(), value.hex.encode(), value.bytes]


def scan(roots: Iterable[Path], needles: Mapping[str, Iterable[bytes]]) -> list[Finding]:
    """Every (file, label) where a needle of ``label`` occurs in a file under ``roots``."""
    label_of: dict[bytes, str] = {}
    for label, forms in needles.items():
        for form in forms:
            if form:
                label_of.setdefault(form, label)
    if not label_of:
        return []
    # One pass per file for all needles (hundreds of numbers after a scenario).
    pattern = re.compile(b"|".join(re.escape(n) for n in sorted(label_of, key=len, reverse=True)))
    findings: list[Finding] = []
    for path in scanned_files(roots):
        try:
            content = path.read_bytes()
        except OSError:
            continue  # a file removed while scanning (a WAL checkpointed away)
        labels = {label_of[m.group(0)] for m in pattern.finditer(content)}
        findings += [Finding(path, label) for label in sorted(labels)]
    return findings


def scanned_files(roots: Iterable[Path]) -> list[Path]:
    """The files `scan` reads, for a test to show it read the stores it claims to."""
    found: list[Path] = []
    for root in roots:
        found += [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return found
