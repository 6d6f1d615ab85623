"""Time as an input: the domain never reads the wall clock, it is handed a clock or a date.

Production runs on `SystemClock`. A simulated run (``make run`` replaying years of facts) moves
the present of every service process itself: each process reads it from a file through
`ScenarioClock` (setting ``KETENZICHT_CLOCK_FILE``), and the feeder writes that file with
`write_present` as the feed moves from day to day (docs/adr/0014-scenario-clock-file.md).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final, Protocol
from zoneinfo import ZoneInfo

DUTCH_TIME: Final = ZoneInfo("Europe/Amsterdam")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...

    def today(self) -> date:
        """Today's date in the Netherlands' civil calendar."""
        ...


class SystemClock:
    """The wall clock, for production."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        # Business dates are Dutch calendar days; Europe/Amsterdam is at most two hours ahead of
        # UTC, which matters only around midnight for the 'not in the future' check.
        return datetime.now(DUTCH_TIME).date()


class FixedClock:
    """A clock that tests (and a simulated run) move by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def today(self) -> date:
        # The same Dutch calendar day as `SystemClock`, or a test at 23:30 UTC would see
        # yesterday where production sees today.
        return self.now().astimezone(DUTCH_TIME).date()

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = instant


RECHECK_SECONDS: Final = 0.001
"""How long a `ScenarioClock` trusts what it last read before it looks at the file again. A
writer that needs every process to see a new present waits a little longer than this (see
`SETTLE_SECONDS`)."""

SETTLE_SECONDS: Final = 2 * RECHECK_SECONDS
"""After `write_present`, every `ScenarioClock` on this machine with the default re-check reads
the new present once this much time has passed (monotonic time is shared by all processes)."""


def noon_on(day: date) -> datetime:
    """Midday of a Dutch calendar day, in UTC: a present whose Dutch date is ``day`` whatever
    the season (midnight would sit on the edge that daylight saving time moves)."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=DUTCH_TIME).astimezone(UTC)


def write_present(path: Path, instant: datetime) -> None:
    """Set the scenario present that every `ScenarioClock` on ``path`` reads.

    Written to a file beside it and moved into place with os.replace, so a reader sees the old
    present or the new one, never half of one."""
    if instant.tzinfo is None:
        raise ValueError("the scenario present must be timezone-aware")
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch.write_text(instant.astimezone(UTC).isoformat() + "\n")
    os.replace(scratch, path)


def clear_present(path: Path) -> None:
    """End the scenario: every `ScenarioClock` on ``path`` goes back to the wall clock."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class ScenarioClock:
    """The present a simulated run sets, read from a file; the wall clock while there is none.

    Services read the clock on hot paths (every command, every event residence notes), so a
    reading is trusted for `recheck_seconds`; after that one ``stat`` tells whether the file
    changed, and only a changed file is read again. A file that cannot be parsed (written by
    hand, half-way) never raises: the last present read stays, or the wall clock when there was
    none. The clock never reads a file as the present unless it is timezone-aware.
    """

    def __init__(
        self,
        path: Path,
        *,
        recheck_seconds: float = RECHECK_SECONDS,
        wall: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._recheck = recheck_seconds
        self._wall = wall or SystemClock()
        self._monotonic = monotonic
        # (checked at, the file's identity when last read, the present read). Replaced as one
        # tuple, so threads that read the clock together need no lock: at worst both stat.
        self._cache: tuple[float, tuple[int, int, int] | None, datetime | None] = (
            float("-inf"),
            None,
            None,
        )

    def now(self) -> datetime:
        present = self._present()
        return self._wall.now() if present is None else present

    def today(self) -> date:
        present = self._present()
        return self._wall.today() if present is None else present.astimezone(DUTCH_TIME).date()

    def _present(self) -> datetime | None:
        checked_at, identity, present = self._cache
        moment = self._monotonic()
        if moment - checked_at < self._recheck:
            return present
        try:
            status = os.stat(self.path)
        except OSError:  # absent (the scenario ended or has not begun): the wall clock
            self._cache = (moment, None, None)
            return None
        # os.replace gives every write a new inode, so this changes with every present set.
        current = (status.st_ino, status.st_mtime_ns, status.st_size)
        if current != identity:
            read = self._read()
            if read is not None:
                present, identity = read, current
            # else: keep the last present and its old identity, so the next check reads again.
        self._cache = (moment, identity, present)
        return present

    def _read(self) -> datetime | None:
        try:
            instant = datetime.fromisoformat(self.path.read_text().strip())
        except (OSError, ValueError):
            return None
        return instant.astimezone(UTC) if instant.tzinfo is not None else None


def clock_for(clock_file: Path | None) -> Clock:
    """The clock of a service process: the scenario's when a clock file is configured (a
    simulated run), else the wall clock."""
    return SystemClock() if clock_file is None else ScenarioClock(clock_file)
