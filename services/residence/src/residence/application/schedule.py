"""The deadline schedule, kept across a clean stop.

Residence knows, for every victim, the next day on which a trigger fires by itself (the
scheduler's `ResidenceCommands.deadlines`). Learning that at start means applying the rules to
every victim: about 1.3 ms each, so three to four minutes for the 160,000 victims of a store
of a million events, and a busy service meanwhile.

A clean stop therefore writes the schedule to a file beside the store, stamped with what it was
computed from: the store (its identity and its last notification id) and the rules (their
settings and the code of the residence domain). The next start takes it only when that stamp
still holds, so nothing was stored since and the rules are the same; otherwise (after a crash,
an upgrade, other settings, a store restored from a backup) it applies the rules to every
victim as before. The file holds pseudonymous victim ids and dates only.

This assumes what residence is anyway: one instance, the only writer of its store (its
deadline scheduler and its durable push consumer are not shared between instances).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import residence.domain
from residence.domain import RuleSettings

FILE_NAME = "deadline-schedule.json"
_FORMAT = 1


@dataclass(frozen=True)
class Stamp:
    """What a schedule was computed from."""

    store: str
    notification_id: int
    rules: str


def rules_fingerprint(settings: RuleSettings) -> str:
    """The rules as they are applied: their settings, and the source of the residence domain
    (a deployment that changes a rule changes this)."""
    digest = hashlib.sha256(repr(settings).encode())
    domain = Path(residence.domain.__file__).parent
    for path in sorted(domain.rglob("*.py")):
        digest.update(path.relative_to(domain).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def save(path: Path, stamp: Stamp, deadlines: Mapping[str, date]) -> None:
    """Written whole or not at all: a file cut short by a crash is simply not taken."""
    document = {"format": _FORMAT, **asdict(stamp),
                "deadlines": {victim: day.isoformat() for victim, day in deadlines.items()}}
    partial = path.with_name(path.name + ".partial")
    with partial.open("w") as out:
        json.dump(document, out, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def load(path: Path, stamp: Stamp) -> dict[str, date] | None:
    """The schedule saved for exactly this stamp, or None."""
    try:
        document = json.loads(path.read_text())
        if document.get("format") != _FORMAT or Stamp(
                document["store"], document["notification_id"], document["rules"]) != stamp:
            return None
        return {victim: date.fromisoformat(day) for victim, day in document["deadlines"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
