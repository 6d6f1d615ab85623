"""What each process of the stack uses, read from the kernel: resident memory (VmRSS now, VmHWM
its high-water mark) and CPU time (user + system)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ketenzicht_common.stack import Stack


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def current_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    # /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, counted after the
    # command name, which may itself contain spaces.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_process(stack: Stack, read: Callable[[int], float]) -> dict[str, float]:
    """``read`` (memory or CPU time) for every process of the stack, nats-server included."""
    found = {p.name: read(p.process.pid) for p in stack.services if p.process is not None}
    if stack.nats.process is not None:
        found["nats-server"] = read(stack.nats.process.pid)
    return found
