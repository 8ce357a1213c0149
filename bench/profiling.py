"""Where a worker's time goes during API check-ins: py-spy samples one gunicorn worker twice at once.

- "cpu": only threads that are running (py-spy leaves out threads blocked in a system call): where the worker's
  CPU goes (Django, DRF, the ORM, asgiref hand-offs, opening connections, crypto).
- "wall": every sample of the request threads, idle included: where a request's time goes, including waiting
  for PostgreSQL and Redis answers and waiting for the event loop to take its turn.

Each sample is put in one bucket by the frames on its stack (first matching rule wins).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# py-spy names files relative to their sys.path entry ("django/db/models/query.py", "visitors/services.py").
_REQUEST_PACKAGES = ("django", "rest_framework", "visitors", "screening", "offices", "denpasar_checkin", "bench")
_PROJECT_PACKAGES = ("visitors", "screening", "offices", "denpasar_checkin", "bench")
_SERVER_PACKAGES = ("asgiref", "uvicorn", "uvicorn_worker", "asyncio", "h11", "httptools", "uvloop", "concurrent")
_WAITS = ("wait", "_wait_for_tstate_lock", "acquire")


def pyspy_path() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def pyspy_start(*, pid: int, duration: float, out: Path, idle: bool, rate: int = 200) -> subprocess.Popen:
    """Start sampling `pid` in the background (without pausing it); wait on the returned process."""
    binary = pyspy_path()
    if binary is None:
        raise RuntimeError("py-spy is not installed (requirements-dev.txt)")
    command = [
        binary, "record", "--pid", str(pid), "--duration", str(int(duration)), "--rate", str(rate),
        "--threads", "--nonblocking", "--format", "raw", "--output", str(out), *(["--idle"] if idle else []),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _frame(text: str) -> tuple[str, str, str]:
    """'Class.func (path/to/file.py:12)' -> ('func', 'path/to/file.py', 'file.py:12')."""
    if text.endswith(")") and " (" in text:
        func, location = text[:-1].rsplit(" (", 1)
        path, _, line = location.rpartition(":")
        return func.rsplit(".", 1)[-1], path, f"{Path(path).name}:{line}"
    return text, "", text


def _package(path: str) -> str:
    if "site-packages/" in path:
        path = path.rsplit("site-packages/", 1)[1]
    return path.lstrip("/").split("/", 1)[0] if "/" in path else ""


def _bucket(frames: list[tuple[str, str, str]]) -> str:
    def has(path_part: str, *names: str) -> bool:
        return any(path_part in path and (not names or func in names) for func, path, _w in frames)

    leaf_func, leaf_path, _ = frames[-1]
    if leaf_func in _WAITS and (has("asgiref/", "run_until_future") or has("threading.py", "start")):
        return "waiting: event loop turn or thread hand-off (asgiref)"
    if has("django/db/backends", "connect", "get_new_connection", "init_connection_state", "ensure_connection"):
        return "db: open a connection (new backend per request)"
    if has("django/db/backends", "close", "_close"):
        return "db: close connection"
    if has("django/db/backends/utils.py", "_execute", "execute", "_execute_with_wrappers"):
        return "db: statement round trip"
    if has("django/db/backends", "commit", "_commit", "set_autocommit", "_set_autocommit"):
        return "db: begin/commit round trip"
    if any(_package(path) == "redis" for _f, path, _w in frames):
        return "cache: redis round trip (incl. connecting)"
    if has("cryptography/") or has("hmac.py") or has("hashlib") or has("denpasar_checkin/nik.py"):
        return "crypto and hashing"
    if has("django/template"):
        return "django: templates"
    if has("django/db/models"):
        return "django: ORM (building SQL, rows to objects)"
    leaf = _package(leaf_path)
    if leaf == "rest_framework":
        return "drf: parsing, serializers, rendering"
    if leaf in _PROJECT_PACKAGES:
        return "app code (services, decision, views)"
    if leaf == "django":
        return "django: request, middleware, response"
    if leaf in _SERVER_PACKAGES or Path(leaf_path).name in ("threading.py", "thread.py", "selectors.py"):
        return "server: asgiref, threads, event loop, http"
    return "other python (stdlib, json, logging)"


def profile_summary(raw: Path, *, mode: str, top: int = 12) -> dict:
    """Buckets as a share of the counted samples, the top leaf frames, and the project's heaviest functions."""
    buckets: Counter = Counter()
    leaves: Counter = Counter()
    inclusive: Counter = Counter()
    counted = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, *rest = stack.split(";")
        frames = [_frame(text) for text in rest]
        if not frames:
            continue
        if mode == "wall" and not (
            "ThreadPoolExecutor" in thread and any(_package(p) in _REQUEST_PACKAGES for _f, p, _w in frames)
        ):
            continue  # wall view: request threads only (the loop and idle pool threads would swamp it)
        counted += count
        buckets[_bucket(frames)] += count
        leaf_func, leaf_path, leaf_where = frames[-1]
        leaves[f"{leaf_func} ({_package(leaf_path) or '-'}: {leaf_where})"] += count
        seen = set()
        for func, path, _where in frames:
            if _package(path) in _PROJECT_PACKAGES and (func, path) not in seen:
                seen.add((func, path))
                inclusive[f"{func} ({path})"] += count

    def share(n: int) -> float:
        return round(100 * n / counted, 1) if counted else 0.0

    return {
        "samples": counted,
        "buckets_pct": {name: share(n) for name, n in buckets.most_common()},
        "top_leaf_frames_pct": {name: share(n) for name, n in leaves.most_common(top)},
        "project_functions_inclusive_pct": {name: share(n) for name, n in inclusive.most_common(top)},
    }
