"""``make bench-profile``: where the time goes, per event and per process.

py-spy (a sampling profiler, in requirements-dev.txt) is attached to every Python process for
the ingest, non-blocking so that it does not pause them, sampling only the thread that holds the
GIL. Each cost is its share of those samples times the CPU time the kernel counted for the
process (py-spy says where, the kernel how much). Each process's profile is written as collapsed
stacks (``<process>.txt``, py-spy's ``raw`` format: flamegraph.pl and speedscope read it); the
summary gives each process's top costs in µs per event, by package and by function (self time:
the function at the top of the stack), and can be written into the
README's section "where the time goes" (``--update-readme``).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

RATE = 250
"""Samples a second per process."""
README_START = "<!-- where-the-time-goes:start (make bench-profile --update-readme) -->"
README_END = "<!-- where-the-time-goes:end -->"


def py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise FileNotFoundError("py-spy not found: run `make setup` (requirements-dev.txt)")
    return found


class Profiler:
    """py-spy recording each of ``processes`` (name → pid) until `stop`."""

    def __init__(self, processes: dict[str, int], out_dir: Path, rate: int = RATE) -> None:
        self.processes = processes
        self.out_dir = out_dir
        self.rate = rate
        self._running: list[subprocess.Popen[bytes]] = []

    def path(self, name: str) -> Path:
        return self.out_dir / f"{name}.txt"

    def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        binary = py_spy()
        for name, pid in self.processes.items():
            self._running.append(
                subprocess.Popen(
                    [
                        binary, "record", "--pid", str(pid), "--rate", str(self.rate),
                        "--format", "raw", "--nonblocking", "--full-filenames", "--gil",
                        "--output", str(self.path(name)),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip

    def stop(self) -> None:
        """Ask each py-spy to write its profile (SIGINT, as Ctrl-C) and wait for it."""
        for process in self._running:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self._running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._running.clear()


WAITING = frozenset(
    {
        "selectors.py: EpollSelector.select",
        "concurrent/futures/thread.py: _worker",
        "threading.py: Condition.wait",
        "threading.py: Event.wait",
        "queue.py: Queue.get",
    }
)
"""Frames where a thread waits inside a C call (epoll, a lock): py-spy's non-blocking sampling
cannot always tell them from work, so they are left out of the CPU figures."""

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _where(file: str) -> tuple[str, str]:
    """(the package a frame's file belongs to, the file within it): a library, ketenzicht's
    own package, or the standard library's module."""
    for marker in ("site-packages/", "/src/"):
        if marker in file:
            inside = file.split(marker, 1)[1]
            return inside.split("/", 1)[0].removesuffix(".py"), inside
    if "/lib/python3" in file:
        inside = file.split("/lib/python3", 1)[1].split("/", 1)[-1]
        return "python: " + inside.split("/", 1)[0].removesuffix(".py"), inside
    return file or "?", file


@dataclass(frozen=True)
class ProcessProfile:
    name: str
    samples: int
    by_package: Counter[str]
    by_function: Counter[str]

    @classmethod
    def read(cls, name: str, path: Path) -> ProcessProfile:
        by_package: Counter[str] = Counter()
        by_function: Counter[str] = Counter()
        samples = 0
        for line in path.read_text().splitlines() if path.exists() else ():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            leaf = stack.rsplit(";", 1)[-1]
            match = _FRAME.match(leaf)
            function, file = (match["function"], match["file"]) if match else (leaf, "")
            n = int(count)
            package, inside = _where(file)
            if f"{inside}: {function}" in WAITING:
                continue
            samples += n
            by_package[package] += n
            by_function[f"{inside}: {function}"] += n
        return cls(name, samples, by_package, by_function)

    def lines(self, events: int, cpu_seconds: float | None, top: int = 8) -> list[str]:
        """Each cost as its share of the samples times the process's CPU per event as the
        kernel counted it (py-spy's samples say where, the kernel how much)."""
        total_us = 1e6 * (cpu_seconds or 0.0) / events if events else 0.0

        def us(n: int) -> str:
            return f"{total_us * n / self.samples:,.1f} µs" if self.samples else "-"

        rows = [f"{self.name}: {total_us:,.0f} µs CPU a event ({self.samples:,} samples)"]
        rows.append("  by package (self time):")
        rows += [f"    {us(n):>10}  {package}" for package, n in self.by_package.most_common(top)]
        rows.append("  by function (self time):")
        rows += [
            f"    {us(n):>10}  {function}" for function, n in self.by_function.most_common(top)
        ]
        return rows


def summary(profiler: Profiler, events: int, what: str, cpu: dict[str, float]) -> list[str]:
    """``cpu``: each process's CPU seconds over the profiled time, by the kernel's count."""
    lines = [
        f"where the time goes: CPU per event of {what} ({events:,} events); the kernel's CPU "
        f"time of each process, split by py-spy's samples of the thread holding the GIL "
        f"({profiler.rate}/s); profiles in {profiler.out_dir}",
        "",
    ]
    for name in profiler.processes:
        lines += ProcessProfile.read(name, profiler.path(name)).lines(events, cpu.get(name))
        lines.append("")
    others = {n: s for n, s in cpu.items() if n not in profiler.processes}
    if others and events:
        lines.append(
            "not profiled: "
            + ", ".join(f"{n} {1e6 * s / events:,.0f} µs" for n, s in others.items())
        )
    return lines


def update_readme(readme: Path, block: Iterable[str], note: str) -> None:
    """Replace the README's generated section with ``block`` (kept between its markers)."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no section between {README_START!r} and {README_END!r}")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    body = "\n".join([note, "", "```", *block, "```"])
    readme.write_text(f"{head}{README_START}\n{body}\n{README_END}{tail}")
