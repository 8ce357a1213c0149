"""`python -m bench.chaos`: faults under a check-in/check-out load, and nothing lost (issue 14, part 4).

The app is served as `make serve` does (serving.topology.Topology: nginx, gunicorn sync workers, uvicorn streams,
Celery worker and beat) on the benchmark's database. For `duration` seconds (60) a few threads check random people
in and out through nginx (http.client, keep-alive, reconnect after an error), recording every admission the server
acknowledged (200, outcome "admitted", a visit id), every acknowledged check-out, every good answer and every 5xx or
connection error, each with its time. As a phone does, a client whose answer was lost (cut connection, 502/503/504)
sends the same request once more after reconnecting: a check-in with the same nonce (the API answers a repeated nonce
with the first answer), a check-out whose retry answers 409 not_inside counts as checked out; these are `retried`
and `recovered_by_retry`, and only what still failed after the retry is an error. Meanwhile, spaced out (FAULTS,
seconds into the load):

    kill_web_worker        SIGKILL to one gunicorn worker (gunicorn forks a new one)
    restart_postgresql     pg_ctlcluster --skip-systemctl-redirect <version> main restart (the machine's cluster)
    stop_redis_10s         redis-cli shutdown nosave, 10 s, then started again as infra.services_start does
    restart_celery_worker  SIGTERM to the Celery worker, wait for it to exit, start it again (Topology.restart)

Afterwards, in SQL: every acknowledged visit exists (`lost_admissions`), every acknowledged check-out is closed
(`lost_checkouts`), every office's counter equals its open visits (`counters_match`, bench.checks), no office was
ever over its effective capacity (`over_admissions`: people above it, summed over offices, from bench.checks' replay
of the scan log). `recovery_s` per fault: seconds from the fault's end (its start for the kill, which is instant)
to the first good (2xx) answer after it. `errors_in_db_restart` counts 5xx and connection errors from the start of
the PostgreSQL restart to DB_GRACE_S (2 s) after it answered again (each web worker's pooled connection breaks once
when it is next used); everything else is `errors_outside_db_restart`, itemised in `errors_by_window`.

PostgreSQL and Redis are always running again at the end (infra.services_start in a finally).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

from . import infra

RESULTS = Path(__file__).resolve().parent / "results"
WORKDIR = Path("/tmp/dc-bench-chaos")
FAULTS = (("kill_web_worker", 8.0), ("restart_postgresql", 20.0), ("stop_redis_10s", 32.0),
          ("restart_celery_worker", 46.0))  # fmt: skip
REDIS_DOWN_S = 10.0
DB_GRACE_S = 2.0
RETRY_STATUSES = (502, 503, 504)  # the proxy lost its upstream: the request is sent once more, as a phone does


# --- the load --------------------------------------------------------------------------------------------------


class Recorder:
    """What the clients saw, with times in seconds since the load started (time.monotonic based)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.admissions: dict[int, float] = {}  # visit id -> when acknowledged
        self.checkouts: dict[int, float] = {}
        self.good: list[float] = []  # every 2xx
        self.errors: list[tuple[float, str, str]] = []  # (t, kind, detail) for 5xx and connection errors
        self.statuses: Counter = Counter()
        self.outcomes: Counter = Counter()
        self.cut = 0  # connection errors, retried or not (each is a request with no status)
        self.retried = 0  # requests sent a second time after a cut connection or a 502/503/504
        self.recovered_by_retry = 0  # of which the second attempt got an answer (< 500)

    def now(self) -> float:
        return time.monotonic() - self.t0


def _client(*, port: int, data, rec: Recorder, stop: threading.Event, seed: int) -> None:
    from .people import name_for, nik_for, phone_for

    rng = random.Random(seed)
    codes = data.regular_codes
    conn: http.client.HTTPConnection | None = None
    inside: list[tuple[int, str, int]] = []  # (person, entrance code, visit id) admitted by this client

    def post(path: str, body: dict, *, last: bool) -> tuple[int, dict] | None:
        """One attempt; a cut connection or a 502/503/504 is an error only on the `last` one (the retry's)."""
        nonlocal conn
        payload = json.dumps(body)
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            conn.request("POST", path, body=payload, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            raw = response.read()
            if response.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as error:
            with rec.lock:
                rec.cut += 1
                if last:
                    rec.errors.append((rec.now(), f"connection:{type(error).__name__}", f"{path} {error}"[:200]))
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.05)
            return None
        t = rec.now()
        with rec.lock:
            rec.statuses[response.status] += 1
            if response.status >= 500 and (last or response.status not in RETRY_STATUSES):
                rec.errors.append((t, f"http:{response.status}", f"{path} {raw[:150]!r}"))
            elif 200 <= response.status < 300:
                rec.good.append(t)
        if response.status >= 500:
            time.sleep(0.05)
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {}
        return response.status, answer

    def send(path: str, body: dict) -> tuple[tuple[int, dict] | None, bool]:
        """As a phone does: when the answer is lost (cut connection, 502/503/504), send the same request once more
        (post reconnects). Returns the answer (None if there still is none) and whether it was retried."""
        got = post(path, body, last=False)
        if got is not None and got[0] not in RETRY_STATUSES:
            return got, False
        with rec.lock:
            rec.retried += 1
        got = post(path, body, last=True)
        if got is not None and got[0] < 500:
            with rec.lock:
                rec.recovered_by_retry += 1
        return got, True

    while not stop.is_set():
        if inside:
            person, code, visit = inside.pop()
            body = {"entrance": code, "nik": nik_for(person), "name": name_for(person)}
            got, retried = send("/api/v1/checkouts/", body)
            if got is None or got[0] >= 500:
                inside.append((person, code, visit))  # unanswered: try again (a 409 means it is closed already)
                continue
            status, answer = got
            if status == 200 and answer.get("visit"):
                with rec.lock:
                    rec.checkouts[int(answer["visit"])] = rec.now()
            elif retried and status == 409 and answer.get("code") == "not_inside":
                with rec.lock:  # the first attempt checked out, only its answer was lost
                    rec.checkouts[visit] = rec.now()
            with rec.lock:
                rec.outcomes[f"out {status} {answer.get('reason') or answer.get('code')}"] += 1
            continue
        person = rng.randrange(data.people)
        code = rng.choice(codes)
        body = {"entrance": code, "nik": nik_for(person), "name": name_for(person), "phone": phone_for(person),
                "nonce": secrets.token_urlsafe(12)}  # fmt: skip
        got, _retried = send("/api/v1/checkins/", body)  # the same nonce: a repeat gets the first answer
        if got is None:
            continue
        status, answer = got
        with rec.lock:
            rec.outcomes[f"in {status} {answer.get('outcome') or answer.get('code')}/{answer.get('reason')}"] += 1
        if status == 200 and answer.get("outcome") == "admitted" and answer.get("visit"):
            visit = int(answer["visit"])
            with rec.lock:
                rec.admissions.setdefault(visit, rec.now())
            if answer.get("reason") == "ok":  # a new admission is ours to check out (as bench/lua/pairs.lua)
                inside.append((person, code, visit))
    if conn is not None:
        conn.close()
    # Whoever is still inside stays: the counters must match their open visits all the same.


# --- the faults ------------------------------------------------------------------------------------------------


def _pg_version() -> str:
    return sorted(os.listdir("/etc/postgresql"))[0]


def _wait(probe, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(0.1)
    return False


def fault_kill_web_worker(topology, expected_workers: int) -> dict:
    import psutil

    master = psutil.Process(topology.processes["web"].pid)
    victim = random.choice(master.children())
    os.kill(victim.pid, signal.SIGKILL)
    started = time.monotonic()
    # Gunicorn notices the death and forks a new worker; time until the count is back.
    _wait(lambda: len([c for c in master.children() if c.pid != victim.pid]) >= expected_workers, 30)
    return {"pid": victim.pid, "respawned_s": round(time.monotonic() - started, 2)}


def fault_restart_postgresql() -> dict:
    completed = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", _pg_version(), "main", "restart"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    ready = _wait(infra._pg_ready, 60)
    return {"returncode": completed.returncode, "ready": ready, "stderr": completed.stderr.strip()[-300:]}


def fault_stop_redis(seconds: float = REDIS_DOWN_S) -> dict:
    completed = subprocess.run(
        ["redis-cli", "-p", str(infra.REDIS_PORT), "shutdown", "nosave"], capture_output=True, text=True, check=False
    )
    _wait(lambda: not infra._redis_ready(), 5)
    time.sleep(seconds)
    infra.services_start()  # starts Redis as .ci/run does (PostgreSQL is up already)
    return {"returncode": completed.returncode, "ready": infra._redis_ready()}


def fault_restart_celery_worker(topology) -> dict:
    started = time.monotonic()
    topology.restart("worker", timeout=30)
    info: dict = {"restarted_after_s": round(time.monotonic() - started, 2)}
    # When the new worker answers a ping over the broker.
    from denpasar_checkin.celery import app

    def pong() -> bool:
        try:
            return bool(app.control.ping(timeout=0.5))
        except Exception:  # noqa: BLE001 - the broker may be down too
            return False

    info["worker_answers_ping"] = _wait(pong, 30)
    info["ping_after_s"] = round(time.monotonic() - started, 2)
    return info


# --- the run ---------------------------------------------------------------------------------------------------


def _prepare(people: int, workdir: Path, port: int):
    """The benchmark's preparation (bench.cli's environment, infra, migrate, bench.load): returns BenchData."""
    from .cli import _environ

    infra.services_start()
    os.environ.update(_environ(port=port, workers=2 * (os.cpu_count() or 1), max_requests=0, rate_limits=False))
    os.environ["STATIC_ROOT"] = str(workdir / "static")
    infra.database_recreate()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    from .load import data_load

    return data_load(people=people)


def _db_retry(fn, attempts: int = 10):
    """Run fn against the database, starting over with a fresh connection when a pooled one broke (the restart)."""
    from django.db import connection
    from django.db.utils import Error as DatabaseError

    for attempt in range(attempts):
        try:
            return fn()
        except DatabaseError:
            if attempt == attempts - 1:
                raise
            with contextlib.suppress(Exception):
                connection.close()
            time.sleep(0.5)
    return None


def _drain(timeout: float = 30.0) -> None:
    """Until no backend of the benchmark database is busy for a second (the last requests have committed)."""
    from django.db import connection

    def busy() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction') "
                "AND backend_type = 'client backend'"
            )
            return cursor.fetchone()[0]

    started, quiet = time.monotonic(), None
    while time.monotonic() - started < timeout:
        if _db_retry(busy) == 0:
            quiet = quiet or time.monotonic()
            if time.monotonic() - quiet >= 1.0:
                return
        else:
            quiet = None
        time.sleep(0.1)


def _server_errors(log: str, limit: int = 12) -> list[str]:
    """The distinct exception lines of the web workers' log (tracebacks' last lines and gunicorn's own errors)."""
    found: Counter = Counter()
    for line in log.splitlines():
        if re.match(r"^[\w.]+(Error|Exception|Timeout)\b.*", line) or "[ERROR]" in line or "WORKER TIMEOUT" in line:
            found[re.sub(r"\d{2}:\d{2}:\d{2}|\[\d+\]", "", line.strip())[:240]] += 1
        elif line.startswith("Internal Server Error"):
            found[line.strip()[:240]] += 1
    return [f"{n} x {text}" for text, n in found.most_common(limit)]


def chaos_run(
    *,
    people: int = 20_000,
    duration: float = 60.0,
    clients: int = 8,
    data=None,
    env: dict[str, str] | None = None,
    workdir: Path = WORKDIR,
    faults: tuple[tuple[str, float], ...] = FAULTS,
) -> dict:
    """The chaos run; returns the result dict (see the module's doc).

    Standalone (data None): prepares the benchmark database itself (drops and re-creates `checkin_bench`).
    From bench/cli.py: pass `data=self.data` and `env=_environ(...)` of the prepared benchmark (Django set up, the
    database loaded); the run then starts its own topology with Celery on a free port and leaves the data as it is
    (call visits_reset() before, as every run does).
    """
    from serving.topology import Topology

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    port = infra.free_port()
    if data is None:
        data = _prepare(people, workdir, port)
        env = dict(os.environ)
    env = {**(env or os.environ), "SITE_URL": f"http://127.0.0.1:{port}"}
    workers = int(env.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))

    from .checks import marks_take, run_check
    from .load import visits_reset

    visits_reset()
    marks = marks_take()
    topology = Topology(port=port, env=env, celery=True, workdir=workdir / "serve")
    windows: dict[str, dict] = {}
    rec = Recorder()
    try:
        topology.start(timeout=120)
        import psutil

        _wait(lambda: len(psutil.Process(topology.processes["web"].pid).children()) >= workers, 60)
        print(f"chaos: serving on {topology.url} (web workers {workers}, Celery worker and beat); "
              f"{clients} clients for {duration:g} s", flush=True)  # fmt: skip

        stop = threading.Event()
        rec = Recorder()
        threads = [
            threading.Thread(
                target=_client, kwargs={"port": port, "data": data, "rec": rec, "stop": stop, "seed": n}, daemon=True
            )
            for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        actions = {
            "kill_web_worker": lambda: fault_kill_web_worker(topology, workers),
            "restart_postgresql": fault_restart_postgresql,
            "stop_redis_10s": fault_stop_redis,
            "restart_celery_worker": lambda: fault_restart_celery_worker(topology),
        }
        try:
            for name, at in faults:
                delay = at - rec.now()
                if delay > 0:
                    time.sleep(delay)
                start = rec.now()
                print(f"chaos: {start:5.1f} s {name} ...", end=" ", flush=True)
                try:
                    info = actions[name]()
                except Exception as error:  # noqa: BLE001 - report it, keep the load and the other faults going
                    info = {"error": f"{type(error).__name__}: {error}"}
                end = rec.now()
                windows[name] = {"start_s": round(start, 2), "end_s": round(end, 2), **info}
                print(f"done at {end:5.1f} s {info}", flush=True)
            delay = duration - rec.now()
            if delay > 0:
                time.sleep(delay)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        load_s = rec.now()
    finally:
        with contextlib.suppress(Exception):
            infra.services_start()  # PostgreSQL and Redis up again, whatever happened above
        if topology.processes:
            try:
                _drain()
            finally:
                web_log = topology.log("web", tail=2_000_000)
                topology.stop()
        else:
            web_log = ""

    # --- the checks ------------------------------------------------------------------------------------------
    from visitors.models import Visit

    acknowledged = set(rec.admissions)
    found = set(_db_retry(lambda: list(Visit.objects.filter(id__in=acknowledged).values_list("id", flat=True))) or [])
    closed = set(
        _db_retry(
            lambda: list(
                Visit.objects.filter(id__in=set(rec.checkouts), checked_out_at__isnull=False).values_list(
                    "id", flat=True
                )
            )
        )
        or []
    )
    check = _db_retry(lambda: run_check(data=data, marks=marks, load={"status": {}, "socket_errors": 0}))
    over = sum(item["max_inside"] - item["effective_capacity"] for item in check["over_capacity"])

    def first_good_after(t: float) -> float | None:
        later = [g for g in rec.good if g >= t]
        return round(min(later) - t, 3) if later else None

    good = sorted(rec.good)

    def longest_gap(start: float, end: float) -> float:
        """The longest time without a good answer between start and end (the stall a client saw)."""
        inside = [start, *(g for g in good if start <= g <= end), end]
        return round(max(b - a for a, b in zip(inside, inside[1:], strict=False)), 3)

    recovery = {}
    for name, window in windows.items():
        ref = window["start_s"] if name == "kill_web_worker" else window["end_s"]
        recovery[name] = first_good_after(ref)
        window["longest_gap_without_good_answer_s"] = longest_gap(window["start_s"], window["end_s"] + DB_GRACE_S)
    db = windows.get("restart_postgresql")
    db_window = (db["start_s"], db["end_s"] + DB_GRACE_S) if db else None

    def window_of(t: float) -> str:
        if db_window and db_window[0] <= t <= db_window[1]:
            return "restart_postgresql"
        for name, window in windows.items():
            if window["start_s"] <= t <= window["end_s"] + DB_GRACE_S:
                return name
        return "no_fault"

    in_db = [e for e in rec.errors if db_window and db_window[0] <= e[0] <= db_window[1]]
    outside = [e for e in rec.errors if not (db_window and db_window[0] <= e[0] <= db_window[1])]
    by_window: dict[str, Counter] = {}
    for t, kind, _detail in rec.errors:
        by_window.setdefault(window_of(t), Counter())[kind] += 1
    result = {
        "acknowledged": len(acknowledged),
        "lost_admissions": len(acknowledged - found),
        "over_admissions": over,
        "errors_outside_db_restart": len(outside),
        "errors_in_db_restart": len(in_db),
        "recovery_s": recovery,
        "counters_match": not check["counter_mismatches"],
        "duration_s": round(duration),
        # details
        "checkouts_acknowledged": len(rec.checkouts),
        "lost_checkouts": len(set(rec.checkouts) - closed),
        "retried": rec.retried,
        "recovered_by_retry": rec.recovered_by_retry,
        "requests": sum(rec.statuses.values()) + rec.cut,
        "rps": round((sum(rec.statuses.values())) / max(load_s, 1e-9), 1),
        "status": {str(k): v for k, v in sorted(rec.statuses.items())},
        "outcomes": dict(rec.outcomes.most_common()),
        "errors_by_window": {k: dict(v) for k, v in by_window.items()},
        "errors_outside_db_restart_sample": [
            {"t_s": round(t, 2), "kind": kind, "detail": detail} for t, kind, detail in outside[:10]
        ],
        "db_restart_window_s": [round(db_window[0], 2), round(db_window[1], 2)] if db_window else None,
        "db_grace_s": DB_GRACE_S,
        "faults": windows,
        "counter_mismatches": check["counter_mismatches"],
        "over_capacity": check["over_capacity"],
        "server_errors": _server_errors(web_log),
        # Tasks the web processes could not queue (Redis down): dropped, logged by denpasar_checkin.celery.
        "tasks_not_queued": dict(Counter(re.findall(r"could not queue (\S+)", web_log))),
        "clients": clients,
        "people": data.people,
        "logs": str(workdir / "serve"),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8, help="client threads, one keep-alive connection each")
    parser.add_argument("--out", type=Path, default=RESULTS / "chaos.json")
    args = parser.parse_args(argv)
    result = chaos_run(people=args.people, duration=args.duration, clients=args.clients)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    ok = not (result["lost_admissions"] or result["over_admissions"] or result["errors_outside_db_restart"])
    return 0 if ok and result["counters_match"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
