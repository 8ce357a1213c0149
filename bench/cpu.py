"""CPU time per request, split by process: the web server, PostgreSQL, Redis and the load generator.

Short-lived processes (a PostgreSQL backend per connection, wrk) are counted through their parent's
children_user/children_system once reaped, so nothing that ran during a run is missed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil


def _tree_seconds(root: psutil.Process) -> float:
    """CPU seconds of a process, its reaped children, and its live children."""
    total = 0.0
    try:
        times = root.cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
        children = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    for child in children:
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def _find(name: str) -> psutil.Process | None:
    """The top process of a service (the one whose parent is not the same program)."""
    for process in psutil.process_iter(["name", "ppid"]):
        try:
            if process.info["name"] != name:
                continue
            parent = psutil.Process(process.info["ppid"]) if process.info["ppid"] else None
            if parent is None or parent.name() != name:
                return process
        except psutil.NoSuchProcess:
            continue
    return None


@dataclass
class CpuSnapshot:
    server: float
    postgres: float
    redis: float
    load_generator: float
    machine_busy: float
    wall: float


class CpuMeter:
    def __init__(self, *server_pids: int):
        # The topology's servers (gunicorn, uvicorn, nginx) are siblings: each is counted with its workers.
        self.servers = [psutil.Process(pid) for pid in server_pids]
        self.postgres = _find("postgres")
        self.redis = _find("redis-server")

    def snapshot(self) -> CpuSnapshot:
        own = os.times()  # this process (the paced generator) and its reaped children (wrk, py-spy)
        machine = psutil.cpu_times()
        busy = sum(getattr(machine, f) for f in machine._fields if f not in ("idle", "iowait", "guest", "guest_nice"))
        return CpuSnapshot(
            server=sum(_tree_seconds(server) for server in self.servers),
            postgres=_tree_seconds(self.postgres) if self.postgres else 0.0,
            redis=_tree_seconds(self.redis) if self.redis else 0.0,
            load_generator=own.user + own.system + own.children_user + own.children_system,
            machine_busy=busy,
            wall=own.elapsed,
        )


def cpu_per_request(before: CpuSnapshot, after: CpuSnapshot, *, requests: int) -> dict:
    """CPU milliseconds per request by component, and how busy the machine's cores were."""
    requests = max(1, requests)
    wall = max(1e-9, after.wall - before.wall)
    per = {
        name: round(1000 * (getattr(after, name) - getattr(before, name)) / requests, 3)
        for name in ("server", "postgres", "redis", "load_generator")
    }
    per["machine_total"] = round(1000 * (after.machine_busy - before.machine_busy) / requests, 3)
    # CPU the benchmark did not cause (other jobs on a shared machine): when large, the run's numbers are low.
    per["other_processes"] = round(
        per["machine_total"] - sum(per[n] for n in ("server", "postgres", "redis", "load_generator")), 3
    )
    per["machine_busy_pct"] = round(100 * (after.machine_busy - before.machine_busy) / (wall * os.cpu_count()), 1)
    return per
