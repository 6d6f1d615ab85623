"""Settled before sent: a victim's triggers go out only once the facts they rest on are in.

Facts of one victim reach residence over three upstream streams (intake, investigation,
prosecution) and the IND's own calls, with no order between them, and every relay publishes a
little after its service stored the fact. Were the rules applied to each fact as it came, every
intermediate state would be published, and a trigger would be sent and retracted a moment later
whenever two facts of one victim crossed each other in flight.

So a change only marks the victim as *unsettled* at the moment it was stored, and the rules are
applied and their triggers sent once the victim has *settled*: when, for every upstream
stream, residence has applied everything the stream held at some moment at least ``grace``
after the victim's last change (a watermark, as stream processors keep one: the stream's last
sequence observed at that moment, against the sequence up to which residence's consumer has
acknowledged all). By then every fact an upstream service stored before the change, and
relayed within the grace period, has been applied too. Under a steady load the watermark keeps
moving, since it needs no moment at which a stream is empty of unapplied events.

The grace period covers the relays' publishing delay: a relay follows its store's notification
log and publishes within tens of milliseconds when it is up (the bench measures the publish →
push consumer p99 at a few milliseconds). One second (`DEFAULT_GRACE_SECONDS`) covers that with
a wide margin while keeping a trigger's delay well inside what the IND notices (its decisions
take days); a relay that is slower than that is down or lagging, which health reports.

Deadlines that fire by the clock, and the full pass at start, go through the same gate: the
victim is marked unsettled at that moment and settles like any other.

An upstream whose watermark lags more than twice the grace period (at least a second) holds
every trigger back; `holding_back` names it for health. This is pure state:
the adapter observes the streams and tells it what it saw, with a monotonic time.

When to look: `next_due` is the earliest moment a victim can settle (its last change + grace),
kept in a heap, so the adapter observes the streams at that moment, and again a few
milliseconds later until that observation's content is applied, instead of on a fixed cadence
that added up to two of its periods to every trigger (docs/adr/0029). Only the timing of the
observations changes: a victim settles on exactly the same watermark as before.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_GRACE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class UpstreamLag:
    """An upstream stream residence has not consumed completely for ``seconds``."""

    stream: str
    seconds: float
    behind: int


class Settling:
    """The unsettled victims and the watermark of the upstream streams."""

    def __init__(self, upstreams: Iterable[str], grace_seconds: float = DEFAULT_GRACE_SECONDS):
        self.grace = grace_seconds
        self._streams = {stream: _Upstream() for stream in upstreams}
        self._unsettled: dict[str, float] = {}
        # (change, victim): an entry for each victim that became unsettled, at most a few per
        # unsettled victim. A victim's later changes only move its moment in `_unsettled`; an
        # entry that comes to the top with an older moment is put back with the current one,
        # and one whose victim has settled is dropped (`_top`). One entry per change held a
        # replay's every upstream fact until the end of the replay (a gigabyte at 10M facts).
        self._changes: list[tuple[float, str]] = []

    # --- what happened ---

    def changed(self, victim_ids: Iterable[str], at: float) -> None:
        """The victims' facts changed (or a deadline of theirs came) at ``at``."""
        for victim_id in victim_ids:
            before = self._unsettled.get(victim_id)
            if before is None:
                self._unsettled[victim_id] = at
                heapq.heappush(self._changes, (at, victim_id))
            elif at > before:
                self._unsettled[victim_id] = at

    def observed(self, stream: str, *, at: float, last_sequence: int, applied: int) -> None:
        """An observation of ``stream`` started at ``at``: the last sequence it held then, and
        the sequence up to which residence has applied (acknowledged) everything."""
        self._streams[stream].observe(at, last_sequence, applied)

    def settled(self, victim_ids: Iterable[str], up_to: float) -> None:
        """The rules were applied to these victims with everything changed up to ``up_to``."""
        for victim_id in victim_ids:
            if self._unsettled.get(victim_id, up_to + 1) <= up_to:
                del self._unsettled[victim_id]

    # --- what follows ---

    @property
    def watermark(self) -> float | None:
        """The latest moment by which everything every upstream stream held was applied."""
        moments = [upstream.caught_up_at for upstream in self._streams.values()]
        if not moments or any(m is None for m in moments):
            return None
        return min(m for m in moments if m is not None)

    def ready(self, limit: int | None = None) -> tuple[list[str], float]:
        """The victims that have settled (last change + grace <= watermark), oldest change
        first, and the moment their settling covers."""
        mark = self.watermark
        if mark is None:
            return [], 0.0
        covered = mark - self.grace
        # Taken from the heap of changes, which holds them in this order already: sorting every
        # unsettled victim to take the first ``limit`` cost a replay of the upstream (hundreds
        # of thousands unsettled at once, 64 settled at a time) time growing with the square
        # of the victims. The ones taken stay unsettled until `settled`: pushed back.
        changes = self._changes
        chosen: list[tuple[float, str]] = []
        taken: set[str] = set()
        while (limit is None or len(chosen) < limit) and (top := self._top()) is not None:
            at, victim_id = top
            if at > covered:
                break
            heapq.heappop(changes)
            if victim_id not in taken:  # else a second entry of the same change: dropped
                taken.add(victim_id)
                chosen.append(top)
        for entry in chosen:
            heapq.heappush(changes, entry)
        return [victim for _, victim in chosen], covered

    def _top(self) -> tuple[float, str] | None:
        """The entry of the earliest unsettled victim, at its current moment, on top of the
        heap; None when none is unsettled."""
        changes = self._changes
        while changes:
            at, victim_id = changes[0]
            current = self._unsettled.get(victim_id)
            if current == at:
                return at, victim_id
            if current is None:
                heapq.heappop(changes)  # settled
            else:
                heapq.heapreplace(changes, (current, victim_id))  # changed again since
        return None

    def next_due(self) -> float | None:
        """The earliest moment at which an unsettled victim can settle (its last change +
        grace), or None when none is unsettled: when the streams are worth observing."""
        top = self._top()
        return None if top is None else top[0] + self.grace

    def covers(self, stream: str, moment: float) -> bool:
        """Whether everything ``stream`` held at ``moment`` (or later) is known to be applied:
        a stream that does not, is the one to look at again for a victim due at ``moment``."""
        caught_up = self._streams[stream].caught_up_at
        return caught_up is not None and caught_up >= moment

    @property
    def unsettled(self) -> int:
        return len(self._unsettled)

    def unsettled_victims(self) -> list[str]:
        return sorted(self._unsettled)

    def holding_back(self, now: float) -> list[UpstreamLag]:
        """The upstreams whose watermark is more than the grace period behind ``now``."""
        lagging = []
        for stream, upstream in self._streams.items():
            since = upstream.caught_up_at
            if since is None:
                since = upstream.first_seen
            # Twice the grace, and never under a second: an observation takes time of its own.
            if since is not None and now - since > max(2 * self.grace, 1.0):
                lagging.append(UpstreamLag(stream, round(now - since, 1), upstream.behind))
        return lagging


class _Upstream:
    """One stream's observations: the moments whose content is not yet all applied."""

    def __init__(self) -> None:
        self.caught_up_at: float | None = None
        self.first_seen: float | None = None
        self.behind = 0
        self._marks: deque[tuple[float, int]] = deque()

    def observe(self, at: float, last_sequence: int, applied: int) -> None:
        if self.first_seen is None:
            self.first_seen = at
        self._marks.append((at, last_sequence))
        while self._marks and self._marks[0][1] <= applied:
            moment, _ = self._marks.popleft()
            self.caught_up_at = (
                moment if self.caught_up_at is None else max(self.caught_up_at, moment)
            )
        self.behind = max(0, last_sequence - applied)
