"""`make bench` (python -m bench): load data, serve with gunicorn as in production, drive it with wrk, check
correctness after every run, and write bench/results/latest.json. See README.md, "Benchmark".
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from . import infra

WORKDIR = Path("/tmp/dc-bench")
CSRF_TOKEN = "benchCsrfToken0123456789abcdefgh"  # 32 characters: Django accepts the unmasked secret
# Benchmark-only secrets: the benchmark database is thrown away, and these never reach a deployment.
BENCH_SECRETS = {
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "NIK_HASH_KEY": "1:bench-only-nik-hash-key",
    "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(b"bench-only-field-encryption-key!").decode(),
}


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=20, help="seconds per wrk run (default 20)")
    parser.add_argument("--half-rate-duration", type=float, default=15, help="seconds of the paced run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections, one per thread (32)")
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn WSGI workers (2 per core)"
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument(
        "--max-requests",
        type=int,
        default=0,
        help="gunicorn max_requests (0: no worker recycling, so memory growth would show; production uses 5000)",
    )
    parser.add_argument(
        "--db-pool",
        type=int,
        default=None,
        help="DB_POOL_MAX_SIZE for the server: PostgreSQL connections per worker (default: the settings' own)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="floor_wsgi and checkin alternate in this many rounds of duration/rounds seconds each (4)",
    )
    parser.add_argument("--only", default="", help="comma-separated runs to do (default: all)")
    parser.add_argument("--soak", action="store_true", help="add a 10-minute check-in/check-out soak run")
    parser.add_argument("--soak-duration", type=float, default=600, help="seconds of the soak (600)")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile run")
    parser.add_argument("--no-ratelimit-run", action="store_true", help="skip the short run with rate limits on")
    return parser.parse_args(argv)


def _environ(
    *,
    port: int,
    workers: int,
    max_requests: int,
    rate_limits: bool,
    db_pool: int | None = None,
) -> dict[str, str]:
    """What both this process and the server see: production settings, DEBUG off, on loopback."""
    env = {
        **os.environ,
        **BENCH_SECRETS,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "DATABASE_URL": infra.database_url(),
        "REDIS_URL": infra.redis_url(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": str(WORKDIR / "static"),
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_MAX_REQUESTS": str(max_requests),
        "RATE_LIMIT_ENABLED": "true" if rate_limits else "false",
    }
    if db_pool is not None:
        env["DB_POOL_MAX_SIZE"] = str(db_pool)
    if rate_limits:
        # All load comes from 127.0.0.1: the per-client limit is raised, the per-NIK limit stays as shipped.
        env["RATE_LIMIT_CLIENT"] = "1000000000/m"
    return env


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.port = infra.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs: dict[str, dict] = {}
        self.correctness: dict[str, dict] = {}
        self.rss_peak = 0.0
        self.server = None
        self.wrk = ""
        self.data = None

    # --- set-up --------------------------------------------------------------------------------------------

    def prepare(self) -> dict:
        shutil.rmtree(WORKDIR, ignore_errors=True)
        WORKDIR.mkdir(parents=True)
        timings = {}
        started = time.perf_counter()
        infra.services_start()
        self.wrk = infra.wrk_ensure()
        os.environ.update(
            _environ(port=self.port, workers=self.args.workers, max_requests=self.args.max_requests, rate_limits=False)
        )
        infra.database_recreate()
        import django

        django.setup()
        from django.core.management import call_command

        mark = time.perf_counter()
        call_command("migrate", "--noinput", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        timings["migrate_and_collectstatic_s"] = round(time.perf_counter() - mark, 2)

        from .load import data_load

        self.data = data_load(people=self.args.people)
        timings.update({f"load_{k}": round(v, 2) for k, v in self.data.timings.items()})
        timings["setup_total_s"] = round(time.perf_counter() - started, 2)
        print(
            f"loaded {self.data.people:,} people, {len(self.data.offices)} offices + hot spot + floor "
            f"in {self.data.timings['total_s']:.1f} s (setup {timings['setup_total_s']:.1f} s)",
            flush=True,
        )
        return timings

    def server_start(
        self, *, rate_limits: bool = False, web_env: dict[str, str] | None = None, port: int | None = None
    ):
        """Serve as `make serve` does on self.port (self.server), or on another port (returned, caller stops it)."""
        from .server import Server

        port = port or self.port
        env = _environ(
            port=port,
            workers=self.args.workers,
            max_requests=self.args.max_requests,
            rate_limits=rate_limits,
            db_pool=self.args.db_pool,
        )
        log_name = "server.log" if port == self.port else f"server-{port}.log"
        server = Server(env=env, port=port, log_path=WORKDIR / log_name, web_env=web_env)
        server.start()
        if port == self.port:
            self.server = server
        return server

    def server_stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    # --- runs ----------------------------------------------------------------------------------------------

    def _counters(self) -> dict[str, int]:
        import redis
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            sessions = cursor.fetchone()[0]
        info = redis.Redis.from_url(infra.redis_url()).info("stats")
        return {"pg_sessions": int(sessions or 0), "redis_connections": int(info["total_connections_received"])}

    def _drain(self, server, timeout: float = 30.0) -> float:
        """Wait until the server has finished what it accepted before the load generator stopped.

        Quiet means: no PostgreSQL backend of the benchmark database busy and no new access-log line for a second.
        Checking (or resetting) earlier would race with the last requests' commits.
        """
        from django.db import connection

        started = time.monotonic()
        log = server.log_path
        last_size, quiet_since = -1, None
        while time.monotonic() - started < timeout:
            size = log.stat().st_size if log.exists() else 0
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
                )
                busy = cursor.fetchone()[0]
            now = time.monotonic()
            if size == last_size and busy == 0:
                quiet_since = quiet_since or now
                if now - quiet_since >= 1.0:
                    break
            else:
                quiet_since = None
            last_size = size
            time.sleep(0.1)
        return round(time.monotonic() - started, 2)

    def _config(self, codes: list[str], **extra) -> dict:
        from .people import FAMILY_NAMES, FIRST_NAMES

        return {
            "people": self.data.people,
            "first_names": list(FIRST_NAMES),
            "family_names": list(FAMILY_NAMES),
            "codes": codes,
            "salt": secrets.token_hex(4),
            "csrf": CSRF_TOKEN,
            **extra,
        }

    def run(
        self, name: str, *, script: str, codes: list[str], duration: float | None = None, server=None, **extra
    ) -> dict:
        """One wrk run from an empty city, then its correctness checks; against self.server unless told."""
        from .checks import marks_take, run_check
        from .cpu import CpuMeter, cpu_per_request
        from .load import visits_reset
        from .report import wrk_summary
        from .server import RssSampler

        visits_reset()
        marks = marks_take()
        before = self._counters()
        duration = duration or self.args.duration
        interval = 5.0 if duration > 120 else 1.0
        print(f"run {name:<20} {duration:g} s ...", end=" ", flush=True)
        server = server or self.server
        meter = CpuMeter(*server.pids())
        with RssSampler(server, interval=interval) as rss:
            cpu_before = meter.snapshot()
            load = self._wrk(name, script=script, codes=codes, duration=duration, port=server.port, **extra)
            cpu_after = meter.snapshot()
            drained = self._drain(server)
        after = self._counters()
        summary = wrk_summary(load, redirects_answer=script == "page")
        summary["connections"] = self.args.connections
        summary["drain_s"] = drained
        summary["cpu_ms_per_request"] = cpu_per_request(cpu_before, cpu_after, requests=summary["requests"])
        summary["server_rss_peak_mb"] = rss.peak_mb
        summary["pg_backends_peak"] = rss.pg_backends_peak
        summary["pg_connections_per_request"] = round(
            (after["pg_sessions"] - before["pg_sessions"]) / max(1, summary["requests"]), 3
        )
        summary["redis_connections_per_request"] = round(
            (after["redis_connections"] - before["redis_connections"]) / max(1, summary["requests"]), 3
        )
        if duration > 120:
            summary["rss_samples"] = rss.samples
        self.rss_peak = max(self.rss_peak, rss.peak_mb)
        if script == "floor":
            self._floor_counter_reset()
        check = run_check(data=self.data, marks=marks, load=summary, hotspot=name == "hotspot")
        self.correctness[name] = check
        print(
            f"{summary['rps']:8.1f} rps  p99 {summary['p99_ms']:7.2f} ms  non-2xx {summary['non_2xx']:>6}  "
            f"{'ok' if check['ok'] else 'FAIL: ' + '; '.join(check['violations'])}",
            flush=True,
        )
        self.runs[name] = summary
        return summary

    def _wrk(
        self, name: str, *, script: str, codes: list[str], duration: float, port: int | None = None, **extra
    ) -> dict:
        from .loadgen import wrk_run

        path = {"bare": "/bench/bare/", "floor": "/bench/floor/"}.get(script, "/")
        return wrk_run(
            wrk=self.wrk,
            script=script,
            url=f"http://127.0.0.1:{port or self.port}{path}",
            duration=duration,
            connections=self.args.connections,
            config=self._config(codes, **extra),
            workdir=WORKDIR,
            name=name,
        )

    def _floor_counter_reset(self) -> None:
        from django.db import connection

        from offices.models import OfficeOccupancy

        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {OfficeOccupancy._meta.db_table} SET visitors_inside = 0, staff_inside = 0 "
                "WHERE office_id = %s",
                [self.data.floor.id],
            )

    def run_paired(self, *, floor_wsgi: bool, checkin: bool) -> None:
        """floor_wsgi and checkin in alternating rounds (--rounds, of duration/rounds seconds each), merged per run.

        The floor runs on the best plain WSGI configuration (bench.server.BEST_WSGI), served beside the product on a
        port of its own through the same nginx set-up, so checkin_vs_best_floor isolates what the product's serving
        and code cost. Alternating cancels the machine's drift: on a shared 2-core VM, two back-to-back 20 s runs of
        the same floor differed by a fifth, which a single floor-then-checkin pair reads as a change in the ratio.
        """
        from .infra import free_port
        from .server import BEST_WSGI

        codes = self.data.regular_codes
        rounds = max(1, self.args.rounds) if floor_wsgi and checkin else 1
        duration = self.args.duration / rounds
        floor_server = self.server_start(web_env=BEST_WSGI, port=free_port()) if floor_wsgi else None
        wanted = [("floor_wsgi", "floor", floor_server)] if floor_wsgi else []
        wanted += [("checkin", "checkin", self.server)] if checkin else []
        parts: dict[str, list[tuple[dict, dict]]] = {name: [] for name, _script, _server in wanted}
        try:
            for _round in range(rounds):
                for name, script, server in wanted:
                    summary = self.run(name, script=script, codes=codes, duration=duration, server=server)
                    parts[name].append((summary, self.correctness[name]))
        finally:
            if floor_server is not None:
                floor_server.stop()
        for name, done in parts.items():
            if len(done) > 1:
                self.runs[name], self.correctness[name] = _rounds_merged(done)
                merged = self.runs[name]
                print(f"    {name:<20} {rounds} rounds: {merged['rps']:8.1f} rps  p99 {merged['p99_ms']:7.2f} ms")

    def run_half_rate(self, peak_rps: float) -> dict:
        """Open loop at half the measured check-in peak: the latency a phone sees on a busy, not saturated, day."""
        from .checks import marks_take, run_check
        from .cpu import CpuMeter, cpu_per_request
        from .load import visits_reset
        from .loadgen import paced_run
        from .people import name_for, nik_for, phone_for
        from .report import paced_summary
        from .server import RssSampler

        visits_reset()
        marks = marks_take()
        codes = self.data.regular_codes
        rng = random.Random()
        head = f"POST /api/v1/checkins/ HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"

        def request_make() -> bytes:
            i = rng.randrange(self.data.people)
            body = json.dumps(
                {
                    "entrance": rng.choice(codes),
                    "nik": nik_for(i),
                    "name": name_for(i),
                    "phone": phone_for(i),
                    "nonce": secrets.token_urlsafe(12),
                }
            ).encode()
            return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

        rate = max(1.0, peak_rps / 2)
        duration = self.args.half_rate_duration
        print(f"run {'checkin_half_rate':<20} {duration:g} s at {rate:.0f}/s ...", end=" ", flush=True)
        meter = CpuMeter(*self.server.pids())
        with RssSampler(self.server) as rss:
            cpu_before = meter.snapshot()
            load = paced_run(host="127.0.0.1", port=self.port, rate=rate, duration=duration, request_make=request_make)
            cpu_after = meter.snapshot()
            self._drain(self.server)
        summary = paced_summary(load)
        summary["cpu_ms_per_request"] = cpu_per_request(cpu_before, cpu_after, requests=summary["requests"])
        summary["server_rss_peak_mb"] = rss.peak_mb
        self.rss_peak = max(self.rss_peak, rss.peak_mb)
        check = run_check(data=self.data, marks=marks, load=summary)
        self.correctness["checkin_half_rate"] = check
        print(
            f"{summary['rps']:8.1f} rps  p99 {summary['p99_ms']:7.2f} ms  non-2xx {summary['non_2xx']:>6}  "
            f"{'ok' if check['ok'] else 'FAIL: ' + '; '.join(check['violations'])}",
            flush=True,
        )
        self.runs["checkin_half_rate"] = summary
        return summary

    def page_probe(self) -> str | None:
        """None when the visitor page answers a form POST with a 303 to a result page; else why the run is skipped."""
        from .load import visits_reset
        from .people import name_for, nik_for, phone_for

        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": CSRF_TOKEN,
                "nik": nik_for(0),
                "name": name_for(0),
                "phone": phone_for(0),
                "consent": "on",
                "remember": "on",
                "nonce": secrets.token_urlsafe(12),
            }
        )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.request(
                "POST",
                f"/c/{self.data.regular_codes[0]}/",
                body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={CSRF_TOKEN}"},
            )
            response = conn.getresponse()
            response.read()
            location = response.getheader("Location") or ""
            if response.status != 303 or not location.startswith("/c/r/"):
                return f"probe POST /c/<code>/ answered {response.status} {location!r}, not 303 to a result URL"
            conn.request("GET", location)
            result = conn.getresponse()
            text = result.read().decode("utf-8", "replace")
            conn.close()
        except OSError as error:
            return f"probe failed: {error}"
        finally:
            visits_reset()
        if result.status != 200 or "data-outcome=" not in text:
            return f"probe GET of the result URL answered {result.status} without a data-outcome result element"
        return None

    def profile(self) -> dict:
        """py-spy on one worker during a short check-in run (not part of the ratios: sampling costs a little)."""
        from .checks import marks_take, run_check
        from .load import visits_reset
        from .profiling import profile_summary, pyspy_start
        from .report import wrk_summary

        duration = min(self.args.duration, 15)
        pid = self.server.worker_pids()[0]
        visits_reset()
        marks = marks_take()
        print(f"run {'checkin_profiled':<20} {duration + 2:g} s (py-spy on worker {pid}) ...", end=" ", flush=True)
        raws = {"wall": WORKDIR / "profile-checkin-wall.txt"}
        spies = {
            mode: pyspy_start(pid=pid, duration=duration, out=raw, idle=mode == "wall") for mode, raw in raws.items()
        }
        time.sleep(0.5)
        load = self._wrk("checkin_profiled", script="checkin", codes=self.data.regular_codes, duration=duration + 1)
        outputs = {mode: spy.communicate(timeout=60)[0] for mode, spy in spies.items()}
        self._drain(self.server)
        summary = wrk_summary(load)
        check = run_check(data=self.data, marks=marks, load=summary)
        self.correctness["checkin_profiled"] = check
        print(f"{summary['rps']:8.1f} rps  {'ok' if check['ok'] else 'FAIL'}", flush=True)
        result: dict = {"rps_while_sampling": summary["rps"], "worker_pid": pid}
        for mode, raw in raws.items():
            if spies[mode].returncode != 0 or not raw.exists():
                result[mode] = {"error": f"py-spy failed ({spies[mode].returncode}): {outputs[mode].strip()[-500:]}"}
            else:
                result[mode] = profile_summary(raw, mode=mode) | {"raw_stacks": str(raw)}
        return result

    def door_latency(self) -> dict | None:
        """Scan-to-door-screen latency (bench/door_latency.py, when it exists): SSE screens of an officer session
        follow two entrances while check-ins arrive one at a time."""
        try:
            from .door_latency import bench_door_latency
        except ImportError:
            return None
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
        from django.contrib.auth.models import Group
        from django.contrib.sessions.backends.db import SessionStore

        from offices.models import Entrance, OfficerAssignment

        from .load import visits_reset
        from .people import colour_for, name_for, nik_for

        codes = {office.codes[0] for office in self.data.offices[:2]}
        by_id = dict(Entrance.objects.filter(code__in=codes).values_list("id", "code"))
        # A door officer of the two offices: a superuser needs a second factor in production (DEBUG off), and each
        # stream would answer a redirect to it.
        user = get_user_model().objects.create_user(
            f"bench-door-{secrets.token_hex(4)}", "bench@example.invalid", secrets.token_urlsafe(24), is_staff=True
        )
        user.groups.add(Group.objects.get(name="Petugas"))
        for office_id in set(Entrance.objects.filter(id__in=by_id).values_list("office_id", flat=True)):
            OfficerAssignment.objects.create(user=user, office_id=office_id)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        people = (i for i in range(self.data.people - 1, 0, -1) if colour_for(i) == "green")

        def api_checkin(entrance_id: int) -> None:
            i = next(people)
            body = json.dumps({"entrance": by_id[entrance_id], "nik": nik_for(i), "name": name_for(i)})
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.request("POST", "/api/v1/checkins/", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                raise RuntimeError(f"check-in answered {response.status}")

        visits_reset()
        print(f"run {'door_latency':<20} ...", end=" ", flush=True)
        try:
            result = bench_door_latency(self.url, session.session_key, sorted(by_id), api_checkin)
        except Exception as error:  # the door screen is another feature: report, do not lose the load results
            result = {"error": f"{type(error).__name__}: {error}"}
        finally:
            self._drain(self.server)
            visits_reset()
        print(result.get("error") or f"p50 {result.get('p50_ms')} ms  p95 {result.get('p95_ms')} ms", flush=True)
        return result

    # --- the whole benchmark --------------------------------------------------------------------------------

    def execute(self) -> dict:
        timings = self.prepare()
        from .inprocess import api_profile, queries_per_checkin
        from .load import visits_reset

        queries = queries_per_checkin(data=self.data)
        visits_reset()
        inprocess_profile = api_profile(data=self.data) if not self.args.no_profile else {}
        visits_reset()
        posters = _posters()
        profile: dict = {}
        only = {name.strip() for name in self.args.only.split(",") if name.strip()}

        def wanted(name: str) -> bool:
            return not only or name in only

        try:
            door, soak = self._served_runs(wanted=wanted, profile=profile)
            if inprocess_profile:
                profile["inprocess"] = inprocess_profile
        finally:
            self.server_stop()
        self._topology_runs(wanted=wanted)
        results = self._results(timings=timings, queries=queries, posters=posters, profile=profile, soak=soak)
        if door is not None:
            results["door_latency"] = door
        return results

    def _served_runs(self, *, wanted, profile: dict) -> tuple[dict | None, dict]:
        """The runs against the app served as `make serve` serves it; returns the door latency and the soak trend."""
        codes = self.data.regular_codes
        hot_codes = self.data.hotspot.codes
        door: dict | None = None
        soak: dict = {}
        self.server_start()
        if wanted("floor_wsgi") or wanted("checkin"):
            self.run_paired(floor_wsgi=wanted("floor_wsgi"), checkin=wanted("checkin"))
        if wanted("bare"):
            self.run("bare", script="bare", codes=codes)
        if wanted("floor"):
            self.run("floor", script="floor", codes=codes)
        if wanted("checkin_half_rate"):
            peak = self.runs.get("checkin", {}).get("rps") or self.run("checkin", script="checkin", codes=codes)["rps"]
            self.run_half_rate(peak)
        if wanted("checkin_checkout"):
            self.run("checkin_checkout", script="pairs", codes=codes, hold=1, leave_probability=0)
        if wanted("page"):
            page_skipped = self.page_probe()
            if page_skipped is None:
                self.run("page", script="page", codes=codes)
            else:
                self.runs["page"] = {"skipped": page_skipped}
                print(f"run page                 skipped: {page_skipped}", flush=True)
        if wanted("hotspot"):
            # Each thread keeps up to 4 people inside: 4 x connections wanting in, against 20 places.
            self.run("hotspot", script="pairs", codes=hot_codes, hold=4, leave_probability=0.3)
        if wanted("door_latency"):
            door = self.door_latency()
        if wanted("profile") and not self.args.no_profile:
            profile.update(self.profile())
        if self.args.soak:
            soak_run = self.run(
                "soak",
                script="pairs",
                codes=codes,
                duration=self.args.soak_duration,
                hold=1,
                leave_probability=0,
            )
            soak = _memory_trend(soak_run.get("rss_samples", []))
        if wanted("checkin_ratelimited") and not self.args.no_ratelimit_run:
            self.server_stop()
            self.server_start(rate_limits=True)
            self.run("checkin_ratelimited", script="checkin", codes=codes, duration=min(self.args.duration, 10))
        return door, soak

    def _topology_runs(self, *, wanted) -> None:
        """Runs that build topologies of their own: two nodes behind PgBouncer, then faults (last: it restarts
        PostgreSQL and Redis)."""
        from .load import visits_reset

        if wanted("scaleout"):
            from .scaleout import scaleout_run

            visits_reset()
            scale = scaleout_run(
                data=self.data,
                wrk=self.wrk,
                env=self._server_env(),
                duration=min(self.args.duration, 15),
                connections=self.args.connections,
                workers=self.args.workers,
            )
            self.runs["scaleout"] = scale
            self.correctness["scaleout"] = {"ok": scale["ok"], "violations": scale["violations"]}
        if wanted("chaos"):
            from .chaos import chaos_run

            visits_reset()
            self.runs["chaos"] = chaos_run(data=self.data, env=self._server_env(), duration=60)
            visits_reset()

    def _server_env(self) -> dict[str, str]:
        return _environ(
            port=infra.free_port(),
            workers=self.args.workers,
            max_requests=self.args.max_requests,
            rate_limits=False,
            db_pool=self.args.db_pool,
        )

    def _results(self, *, timings: dict, queries: dict, posters: dict | None, profile: dict, soak: dict) -> dict:
        runs = self.runs
        ratios = {}
        floor_rps = runs.get("floor", {}).get("rps")
        bare_rps = runs.get("bare", {}).get("rps")
        for name, run in runs.items():
            if run.get("skipped") or run.get("open_loop"):
                continue
            if name != "floor":
                ratios[f"{name}_vs_floor"] = round(run["rps"] / floor_rps, 3) if floor_rps else None
            if name != "bare":
                ratios[f"{name}_vs_bare"] = round(run["rps"] / bare_rps, 3) if bare_rps else None
        best_floor_rps = runs.get("floor_wsgi", {}).get("rps")
        checkin_rps = runs.get("checkin", {}).get("rps")
        ratios["checkin_vs_best_floor"] = (
            round(checkin_rps / best_floor_rps, 3) if checkin_rps and best_floor_rps else None
        )
        all_ok = all(check["ok"] for check in self.correctness.values())
        half = runs.get("checkin_half_rate", {})
        targets = {
            "checkin >= 60% of floor": _verdict(ratios.get("checkin_vs_floor"), lambda r: r >= 0.6),
            "checkin >= 80% of the best WSGI floor": _verdict(ratios.get("checkin_vs_best_floor"), lambda r: r >= 0.8),
            "p99 < 50 ms at half the peak check-in rate": _verdict(half.get("p99_ms"), lambda p: p < 50, unit="ms"),
            "zero 5xx, over-admissions, lost requests": "met" if all_ok else "MISSED",
            "server memory flat over the soak": (
                ("met" if soak.get("flat") else "MISSED") + f" ({soak.get('growth_mb')} MB after warm-up)"
                if soak
                else "not run (make bench BENCH_ARGS=--soak)"
            ),
        }
        results = {
            "runs": runs,
            "ratios": ratios,
            "queries_per_checkin": queries["mean"],
            "queries_per_checkin_detail": queries,
            "server_peak_rss_mb": round(self.rss_peak, 1),
            "correctness": {"ok": all_ok, **self.correctness},
            "targets": targets,
            "machine": _machine(self.args, self.wrk),
            "setup": timings,
            "profile": profile,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        if soak:
            results["soak"] = soak
        if posters is not None:
            results["posters"] = posters
        return results


def _verdict(value, ok, *, unit: str = "") -> str:
    if value is None:
        return "not measured"
    return f"{'met' if ok(value) else 'MISSED'} ({value}{(' ' + unit) if unit else ''})"


def _rounds_merged(done: list[tuple[dict, dict]]) -> tuple[dict, dict]:
    """One run's summary and checks from its rounds: rps over the whole time, counts summed, CPU per request
    weighted by requests, and each latency percentile the worst round's (rounds are too short to pool honestly)."""
    summaries = [summary for summary, _check in done]
    requests = sum(s["requests"] for s in summaries)
    seconds = sum(s["duration_s"] for s in summaries)
    merged = dict(summaries[-1])
    merged.update(
        rps=round(requests / seconds, 1) if seconds else 0.0,
        requests=requests,
        duration_s=round(seconds, 2),
        errors=sum(s["errors"] for s in summaries),
        non_2xx=sum(s["non_2xx"] for s in summaries),
        socket_errors=sum(s["socket_errors"] for s in summaries),
        server_rss_peak_mb=max(s["server_rss_peak_mb"] for s in summaries),
        rounds=[{"rps": s["rps"], "p99_ms": s["p99_ms"], "requests": s["requests"]} for s in summaries],
    )
    for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
        merged[key] = max(s[key] for s in summaries)
    cpu = [s.get("cpu_ms_per_request") or {} for s in summaries]
    merged["cpu_ms_per_request"] = {
        key: round(
            sum(c.get(key, 0) * s["requests"] for c, s in zip(cpu, summaries, strict=True)) / max(1, requests), 3
        )
        for key in cpu[-1]
    }
    checks = [check for _summary, check in done]
    check = dict(checks[-1])
    check["violations"] = [v for c in checks for v in c["violations"]]
    check["ok"] = all(c["ok"] for c in checks)
    return merged, check


def _memory_trend(samples: list[tuple[float, float]]) -> dict:
    """Growth between the first and the last minute after warm-up (the first fifth, at least 60 s)."""
    if len(samples) < 6:
        return {}
    end = samples[-1][0]
    warm = max(60.0, end / 5)
    after = [(t, mb) for t, mb in samples if t >= warm]
    window = 60.0
    first = [mb for t, mb in after if t < warm + window] or [after[0][1]]
    last = [mb for t, mb in after if t >= end - window] or [after[-1][1]]
    baseline, final = statistics.median(first), statistics.median(last)
    growth = final - baseline
    return {
        "warm_up_s": warm,
        "baseline_mb": round(baseline, 1),
        "final_mb": round(final, 1),
        "growth_mb": round(growth, 1),
        "growth_pct": round(100 * growth / baseline, 1) if baseline else None,
        "flat": growth <= max(5.0, 0.05 * baseline),
        "samples": len(samples),
    }


def _posters() -> dict | None:
    try:
        from .posters import bench_posters
    except ImportError:
        return None
    try:
        return bench_posters()
    except Exception as error:  # a poster failure must not lose the load results
        return {"error": f"{type(error).__name__}: {error}"}


def _version(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "unknown"
    return (completed.stdout or completed.stderr).strip().splitlines()[0] if completed.returncode in (0, 1) else ""


def _machine(args: argparse.Namespace, wrk: str) -> dict:
    import django
    import psutil
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpu": cpu,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgres": postgres,
        "redis": _version(["redis-server", "--version"]),
        "wrk": _version([wrk, "--version"]),
        "workers": args.workers,
        "worker_class": "uvicorn_worker.UvicornWorker (gunicorn.conf.py)",
        "max_requests": args.max_requests,
        "connections": args.connections,
        "duration_s": args.duration,
        "people": args.people,
    }


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    os.chdir(Path(__file__).resolve().parent.parent)
    sys.path.insert(0, os.getcwd())
    bench = Bench(args)
    results = bench.execute()
    from .report import results_write, table_print

    path = results_write(results)
    table_print(results)
    profile = results.get("profile") or {}
    for mode, title in (("wall", "a check-in request's wall time in a worker"),):
        buckets = (profile.get(mode) or {}).get("buckets_pct")
        if buckets:
            print(f"\nwhere {title} goes during check-ins (py-spy, % of samples):")
            for bucket, pct in buckets.items():
                print(f"  {pct:5.1f}%  {bucket}")
    inprocess = (profile.get("inprocess") or {}).get("buckets_pct")
    if inprocess:
        print("\nwhere an API check-in's time goes in-process (cProfile, test client, warm connection):")
        for bucket, pct in inprocess.items():
            print(f"  {pct:5.1f}%  {bucket}")
    checkin_cpu = results["runs"].get("checkin", {}).get("cpu_ms_per_request")
    if checkin_cpu:
        print(f"\nCPU ms per check-in by process: {checkin_cpu}")
    print(f"\nresults: {path}   logs and raw profile: {WORKDIR}")
    return 0 if results["correctness"]["ok"] else 1
