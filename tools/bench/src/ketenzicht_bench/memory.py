"""Peak memory of a process, read from the kernel (VmHWM: the resident set's high-water mark)."""

from __future__ import annotations

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


def stack_memory(stack: Stack, read: Callable[[int], float]) -> dict[str, float]:
    """``read`` (peak or current) for every process of the stack, nats-server included."""
    found = {p.name: read(p.process.pid) for p in stack.services if p.process is not None}
    if stack.nats.process is not None:
        found["nats-server"] = read(stack.nats.process.pid)
    return found
