"""The deadline schedule: every victim's next day on which a trigger fires by itself.

Residence must apply the rules to a victim again when the clock passes a deadline (a reflection
period expires, a permit is to be extended, three years of holding are reached), with no new
fact. `DeadlineSchedule` knows, per victim, the next such day; the deadline task asks it which
victims are due and hands them to the settling gate like any other change.

Learning the schedule at start means applying the rules to every victim: about 1.3 ms each, so
minutes for a store of a million events. A clean stop therefore writes the schedule to a file
beside the store, stamped with what it was computed from: the store (its identity and its last
notification id) and the rules (their settings and the code of the residence domain). The next
start takes it only when that stamp still holds, so nothing was stored since and the rules are
the same; otherwise (after a crash, an upgrade, other settings, a store restored from a backup)
it applies the rules to every victim as before. Victims not yet settled at the stop are saved as
due on the day of the stop, so the next start settles them. The file holds pseudonymous victim
ids and dates only.

This assumes what residence is anyway: one instance, the only writer of its store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import residence.domain
from residence.domain import RuleSettings

log = logging.getLogger(__name__)

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


class DeadlineSchedule:
    """The next deadline of every victim, kept across a clean stop."""

    def __init__(self) -> None:
        self._next: dict[str, date] = {}
        self.complete = False
        """Covers every victim in the store: the full pass was queued in this process, or the
        schedule of a clean stop was restored."""
        self.unsure = False
        """A command was abandoned while the bus may still store it: do not save."""

    def set(self, deadlines: Mapping[str, date | None]) -> None:
        """Each victim's next deadline as the rules just gave it (None: none)."""
        for victim_id, due in deadlines.items():
            if due is None:
                self._next.pop(victim_id, None)
            else:
                self._next[victim_id] = due

    def take_due(self, today: date) -> list[str]:
        """The victims whose deadline has come; they leave the schedule until settled."""
        due = sorted(victim for victim, day in self._next.items() if day <= today)
        for victim_id in due:
            del self._next[victim_id]
        return due

    def due_again(self, victim_ids: Iterable[str], today: date) -> None:
        """Settling these victims failed: due again at once."""
        for victim_id in victim_ids:
            self._next[victim_id] = today

    def next_of(self, victim_id: str) -> date | None:
        return self._next.get(victim_id)

    def __len__(self) -> int:
        return len(self._next)

    # --- across a clean stop ---

    def restore(self, path: Path, stamp: Stamp) -> bool:
        """Take the schedule a clean stop saved, if ``stamp`` still holds."""
        saved = load(path, stamp)
        if saved is None:
            return False
        self._next = saved
        self.complete = True
        log.info(
            "deadline schedule of the clean stop restored (%d victims with a deadline)", len(saved)
        )
        return True

    def save_at_stop(
        self, path: Path, stamp: Stamp, *, unsettled: Iterable[str], today: date, safe: bool
    ) -> None:
        """At a clean stop: the schedule, with the unsettled victims due on ``today``; removed
        instead when it would be incomplete (``safe`` False, not complete, or unsure)."""
        if not (safe and self.complete) or self.unsure:
            path.unlink(missing_ok=True)
            log.info("deadline schedule not saved: the next start applies the rules to all")
            return
        deadlines = dict(self._next) | dict.fromkeys(unsettled, today)
        save(path, stamp, deadlines)
        log.info("deadline schedule saved (%d victims with a deadline)", len(deadlines))


def save(path: Path, stamp: Stamp, deadlines: Mapping[str, date]) -> None:
    """Written whole or not at all: a file cut short by a crash is simply not taken."""
    document = {
        "format": _FORMAT,
        **asdict(stamp),
        "deadlines": {victim: day.isoformat() for victim, day in deadlines.items()},
    }
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
        if (
            document.get("format") != _FORMAT
            or Stamp(document["store"], document["notification_id"], document["rules"]) != stamp
        ):
            return None
        return {victim: date.fromisoformat(day) for victim, day in document["deadlines"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
