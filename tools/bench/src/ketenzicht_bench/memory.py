"""What each process of the stack uses, read from the kernel: resident memory (VmRSS now, VmHWM
its high-water mark) and CPU time (user + system)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from ketenzicht_common.cluster import ClusterStack
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


def workers(name: str, pid: int) -> dict[str, int]:
    """The processes ``pid`` (the service ``name``) started that work for it (the monitor's
    rebuild workers), as "<name> worker", "<name> worker 2", …; not multiprocessing's resource
    tracker, which only tidies up after them."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return {}
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"resource_tracker" not in command:
                found.append(child)
    return {
        f"{name} worker" + (f" {index}" if index > 1 else ""): child
        for index, child in enumerate(sorted(found), start=1)
    }


def per_process(
    stack: Stack | ClusterStack, read: Callable[[int], float], *, with_workers: bool = False
) -> dict[str, float]:
    """``read`` (memory or CPU time) for every process of the stack, nats-server included (on
    the cluster profile each node, and PostgreSQL's CPU time: `cpu_per_process`); with
    ``with_workers`` also each service's worker processes (`workers`), as "<service> worker"."""
    found: dict[str, float] = {}
    for p in stack.services:
        if p.process is None:
            continue
        found[p.name] = read(p.process.pid)
        if with_workers:
            for worker, child in workers(p.name, p.process.pid).items():
                with contextlib.suppress(OSError):  # ended meanwhile
                    found[worker] = read(child)
    if isinstance(stack, ClusterStack):
        for index, node in enumerate(stack.nodes):
            if node.process is not None:
                found[f"nats-server {index + 1}"] = read(node.process.pid)
    elif stack.nats.process is not None:
        found["nats-server"] = read(stack.nats.process.pid)
    return found


def cpu_per_process(stack: Stack | ClusterStack) -> dict[str, float]:
    """CPU time of every process of the stack; on the cluster profile PostgreSQL's too (all
    its processes together)."""
    found = per_process(stack, cpu_seconds)
    if isinstance(stack, ClusterStack):
        found["postgresql (all its processes)"] = postgres_cpu_seconds(stack)
    return found


def postgres_cpu_seconds(stack: ClusterStack) -> float:
    """PostgreSQL's CPU time: the postmaster's and its children's (a backend per connection,
    the WAL writer, the checkpointer…), those that ended included (the postmaster's children's
    time, which the kernel adds when it reaps them)."""
    pid_file = stack.postgres.data / "postmaster.pid"
    if not pid_file.exists():
        return 0.0
    postmaster = int(pid_file.read_text().split()[0])
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # /proc/<pid>/stat after the command name: ppid, …, utime, stime, cutime, cstime.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(entry.name) == postmaster:
            ticks += sum(int(f) for f in fields[11:15])
        elif int(fields[1]) == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")
