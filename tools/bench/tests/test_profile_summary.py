"""`make bench-profile`'s summary: py-spy's collapsed stacks split a process's CPU time by
package and by function, waits left out, and the README's generated section rewritten in
place."""

from __future__ import annotations

from pathlib import Path

from ketenzicht_bench.profile import README_END, README_START, ProcessProfile, update_readme

SITE = "/x/.venv/lib/python3.11/site-packages"
LOOP = "run (/x/lib/python3.11/asyncio/base_events.py:1)"
NOTE = "note (/w/services/residence/src/residence/application/residence.py:5)"
STACKS = "\n".join(
    [
        f"{LOOP};execute ({SITE}/eventsourcing/sqlite.py:9) 30",
        f"{LOOP};{NOTE} 10",
        f"{LOOP};EpollSelector.select (/x/lib/python3.11/selectors.py:468) 60",
    ]
)


def test_a_profile_splits_the_kernels_cpu_time_by_package_and_function(tmp_path: Path) -> None:
    path = tmp_path / "residence.txt"
    path.write_text(STACKS + "\n")
    profile = ProcessProfile.read("residence", path)
    assert profile.samples == 40  # the epoll wait is not work
    lines = profile.lines(events=1000, cpu_seconds=0.4)  # 400 µs of CPU an event
    text = "\n".join(lines)
    assert "residence: 400 µs CPU a event" in text
    assert "300.0 µs  eventsourcing" in text
    assert "100.0 µs  residence" in text
    assert "eventsourcing/sqlite.py: execute" in text


def test_the_readme_section_is_rewritten_between_its_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{README_START}\nold\n{README_END}\nafter\n")
    update_readme(readme, ["residence: 1 µs"], "a note")
    text = readme.read_text()
    assert text.startswith("before\n")
    assert text.endswith(f"{README_END}\nafter\n")
    assert "old" not in text
    assert "residence: 1 µs" in text
    assert "a note" in text
