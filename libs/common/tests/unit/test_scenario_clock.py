"""The scenario clock: a simulated run moves the present of every service through a file."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ketenzicht_common.clock import (
    SETTLE_SECONDS,
    FixedClock,
    ScenarioClock,
    SystemClock,
    clear_present,
    clock_for,
    noon_on,
    write_present,
)
from ketenzicht_common.settings import ServiceSettings

WALL = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Ticks:
    """A monotonic clock the test moves, to see what the cache does between re-checks."""

    def __init__(self) -> None:
        self.seconds = 100.0

    def __call__(self) -> float:
        return self.seconds


def scenario_clock(
    path: Path, ticks: Ticks | None = None, recheck_seconds: float = 1.0
) -> ScenarioClock:
    return ScenarioClock(
        path, recheck_seconds=recheck_seconds, wall=FixedClock(WALL), monotonic=ticks or Ticks()
    )


def test_without_the_file_the_clock_is_the_wall_clock(tmp_path: Path) -> None:
    clock = scenario_clock(tmp_path / "clock")
    assert clock.now() == WALL
    assert clock.today() == date(2026, 3, 1)


def test_the_file_sets_the_present_and_today_is_the_dutch_day(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    # 23:30 UTC on 1 June is half past one on 2 June in Amsterdam (summer time).
    write_present(path, datetime(2021, 6, 1, 23, 30, tzinfo=UTC))
    clock = scenario_clock(path)
    assert clock.now() == datetime(2021, 6, 1, 23, 30, tzinfo=UTC)
    assert clock.today() == date(2021, 6, 2)


@pytest.mark.parametrize(
    "day",
    [
        date(2019, 1, 1),
        date(2021, 3, 28),
        date(2022, 7, 15),
        date(2024, 10, 27),
        date(2025, 12, 31),
    ],
)
def test_noon_on_a_day_is_that_dutch_day_in_winter_summer_and_on_the_switch(
    tmp_path: Path, day: date
) -> None:
    path = tmp_path / "clock"
    write_present(path, noon_on(day))
    assert scenario_clock(path).today() == day
    assert noon_on(day).tzinfo is UTC


def test_a_new_present_is_seen_after_the_recheck_and_not_before(tmp_path: Path) -> None:
    path, ticks = tmp_path / "clock", Ticks()
    write_present(path, noon_on(date(2020, 5, 1)))
    clock = scenario_clock(path, ticks, recheck_seconds=0.5)
    assert clock.today() == date(2020, 5, 1)
    write_present(path, noon_on(date(2020, 5, 2)))
    ticks.seconds += 0.4
    assert clock.today() == date(2020, 5, 1)  # cached: the file is not looked at yet
    ticks.seconds += 0.2
    assert clock.today() == date(2020, 5, 2)


def test_within_the_recheck_the_file_is_not_even_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, ticks = tmp_path / "clock", Ticks()
    write_present(path, noon_on(date(2020, 5, 1)))
    clock = scenario_clock(path, ticks, recheck_seconds=0.5)
    clock.today()
    looked: list[object] = []
    real_stat = os.stat
    monkeypatch.setattr(
        "ketenzicht_common.clock.os.stat", lambda p: looked.append(p) or real_stat(p)
    )
    for _ in range(1000):
        clock.now()
    assert looked == []
    ticks.seconds += 1.0
    clock.now()
    assert looked == [path]


def test_an_unchanged_file_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, ticks = tmp_path / "clock", Ticks()
    write_present(path, noon_on(date(2020, 5, 1)))
    clock = scenario_clock(path, ticks, recheck_seconds=0.5)
    clock.today()
    reads: list[str] = []
    real_read = Path.read_text
    monkeypatch.setattr(
        Path, "read_text", lambda self, *a, **k: reads.append(str(self)) or real_read(self)
    )
    for _ in range(5):
        ticks.seconds += 1.0
        assert clock.today() == date(2020, 5, 1)
    assert reads == []


def test_a_half_written_file_keeps_the_last_present(tmp_path: Path) -> None:
    path, ticks = tmp_path / "clock", Ticks()
    write_present(path, noon_on(date(2020, 5, 1)))
    clock = scenario_clock(path, ticks)
    assert clock.today() == date(2020, 5, 1)
    path.write_text("2020-05-0")  # a writer that did not use write_present, caught half-way
    ticks.seconds += 2.0
    assert clock.today() == date(2020, 5, 1)
    path.write_text("2020-05-03T10:00:00+00:00\n")  # … and once it is complete, it is read
    ticks.seconds += 2.0
    assert clock.today() == date(2020, 5, 3)


@pytest.mark.parametrize("content", ["", "2020-05-0", "not a date", "2020-05-03T10:00:00"])
def test_a_half_written_or_naive_file_without_an_earlier_present_is_the_wall_clock(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "clock"
    path.write_text(content)
    clock = scenario_clock(path)
    assert clock.now() == WALL
    assert clock.today() == date(2026, 3, 1)


def test_clearing_the_file_returns_to_the_wall_clock(tmp_path: Path) -> None:
    path, ticks = tmp_path / "clock", Ticks()
    write_present(path, noon_on(date(2020, 5, 1)))
    clock = scenario_clock(path, ticks)
    assert clock.today() == date(2020, 5, 1)
    clear_present(path)
    clear_present(path)  # clearing twice is harmless
    ticks.seconds += 2.0
    assert clock.now() == WALL


def test_write_present_is_atomic_and_refuses_a_naive_time(tmp_path: Path) -> None:
    path = tmp_path / "run" / "clock"
    write_present(path, noon_on(date(2020, 5, 1)))
    write_present(path, noon_on(date(2020, 5, 2)))
    assert [p.name for p in path.parent.iterdir()] == ["clock"]  # no scratch file left
    assert datetime.fromisoformat(path.read_text().strip()) == noon_on(date(2020, 5, 2))
    with pytest.raises(ValueError, match="timezone-aware"):
        write_present(path, datetime(2020, 5, 3, 12))


def test_with_the_default_recheck_a_new_present_is_seen_at_once_after_the_settle_time(
    tmp_path: Path,
) -> None:
    path = tmp_path / "clock"
    clock = ScenarioClock(path)
    write_present(path, noon_on(date(2020, 5, 1)))
    time.sleep(SETTLE_SECONDS)
    assert clock.today() == date(2020, 5, 1)
    write_present(path, noon_on(date(2020, 5, 2)))
    time.sleep(SETTLE_SECONDS)
    assert clock.today() == date(2020, 5, 2)


def test_a_service_uses_the_scenario_clock_only_when_the_setting_names_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ServiceSettings().clock_file is None
    assert isinstance(clock_for(ServiceSettings().clock_file), SystemClock)
    monkeypatch.setenv("KETENZICHT_CLOCK_FILE", str(tmp_path / "clock"))
    settings = ServiceSettings()
    assert settings.clock_file == tmp_path / "clock"
    clock = clock_for(settings.clock_file)
    assert isinstance(clock, ScenarioClock)
    assert clock.path == tmp_path / "clock"
