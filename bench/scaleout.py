"""The `scaleout` run: two independent web nodes behind one nginx, PgBouncer (transaction mode) before PostgreSQL,
one Redis; check-ins and check-outs through the proxy, one node against two in the same invocation.

    client -> nginx :front --request/response, round robin--> node A gunicorn  |  node B gunicorn
                           \\--/door/<id>/events (pinned)----> node A uvicorn
    node A, node B (each: gunicorn WSGI workers + uvicorn streams, own ports, own DB pools)
        -> PgBouncer (pool_mode = transaction) -> PostgreSQL 127.0.0.1:5432;  both -> the bench's Redis

Each node is a serving.topology.Topology without its nginx (Node); the fronts are Topologies with only nginx (Front),
rendering serving/app.conf.template with more than one upstream server. Two fronts run side by side: one before
node A only (the one-node run) and one before both nodes (the two-node runs and the door screen), so both
measurements see the same processes on the machine.

Correctness: bench.checks.run_check after every load run (over-admissions replayed from the scan log, counters,
5xx), with a hot spot run (capacity 20, 4 x connections wanting in) across both nodes; and the cross-node door
screen: bench.door_latency's SSE screens follow entrances through the front (streams pinned to node A's uvicorn)
while the check-ins go straight to node B's gunicorn.

As a library (bench/cli.py): scaleout_run(data=..., wrk=..., env=...) -> dict. Standalone:

    python -m bench.scaleout [--people 20000] [--duration 15] [--connections 32] [--workers N]

prepares its own database (checkin_scaleout, Redis db 11, so a concurrent `make bench` is left alone) with the
benchmark's own functions, runs, and writes bench/results/scaleout.json.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

from serving.topology import STREAMS, WEB, Topology, _status, executable, nginx_path

from . import infra

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = Path("/tmp/dc-scaleout")
RESULTS = Path(__file__).resolve().parent / "results"
# Per node: DB_POOL_MAX_SIZE connections per gunicorn worker (a sync worker serves one request at a time, so 2
# is plenty) and the same for the uvicorn streams process; PgBouncer multiplexes all of them onto a small pool.
NODE_DB_POOL = 2
PGBOUNCER_POOL = 20  # PostgreSQL connections PgBouncer opens, for all nodes together


# --- processes ---------------------------------------------------------------------------------------------------


class Node(Topology):
    """One web node: gunicorn WSGI + uvicorn streams on their own ports, no nginx of its own."""

    def commands(self) -> dict[str, tuple[list[str], dict[str, str]]]:
        return {"web": (executable(WEB), self.web_env), "streams": (executable(STREAMS), self.streams_env)}

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        host = self._host_header()
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)}")
            if _status("127.0.0.1", self.streams_port, "/healthz", host) == 200 and (
                _status("127.0.0.1", self.web_port, "/readyz", host) == 200
            ):
                return
            time.sleep(0.2)
        logs = "\n".join(f"--- {name}\n{self.log(name)}" for name in self.processes)
        raise RuntimeError(f"node did not get ready within {timeout:.0f} s:\n{logs}")

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes.values()]


class Front(Topology):
    """nginx alone, from serving/app.conf.template, before several nodes: request/response paths round robin over
    `web` (gunicorn addresses), streams over `streams` (uvicorn addresses)."""

    def __init__(self, *, web: list[str], streams: list[str], **kwargs):
        super().__init__(**kwargs)
        self.web_upstreams = web
        self.streams_upstreams = streams

    def nginx_conf(self) -> Path:
        from serving.topology import TEMPLATE, client_max_body_size, nginx_main_conf, render

        # The template has one `server ${X};` line per upstream: more servers go in as "a;\n    server b".
        values = {
            "LISTEN": f"{self.host}:{self.port}",
            "WEB_UPSTREAM": ";\n    server ".join(self.web_upstreams),
            "STREAMS_UPSTREAM": ";\n    server ".join(self.streams_upstreams),
            "CLIENT_MAX_BODY_SIZE": client_max_body_size(self.env),
        }
        (self.workdir / "app.conf").write_text(render(TEMPLATE.read_text(), values))
        conf = self.workdir / "nginx.conf"
        conf.write_text(nginx_main_conf(self.workdir))
        return conf

    def commands(self) -> dict[str, tuple[list[str], dict[str, str]]]:
        if nginx_path() is None:
            raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx)")
        return {"nginx": super().commands()["nginx"]}

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes["nginx"]
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited with {process.returncode}:\n{self.log('nginx')}")
            if _status(self.host, self.port, "/readyz", self._host_header()) == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"front did not get ready within {timeout:.0f} s:\n{self.log('nginx')}")


def pgbouncer_ensure() -> str:
    """The pgbouncer binary, installed from Debian's package when missing (as infra.wrk_ensure installs wrk)."""
    found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None)
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "pgbouncer"]
    if subprocess.run(install, check=False, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        subprocess.run(install, check=True, env=env, capture_output=True)
    found = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.access(found, os.X_OK):
        raise RuntimeError("pgbouncer is not installed and apt-get could not install it")
    return found


class PgBouncer:
    """PgBouncer in transaction mode on a free loopback port, with its ini, auth file, pid and log in `workdir`.

    It refuses to run as root: as root it drops to the postgres user (-u), which then owns `workdir`."""

    def __init__(self, *, workdir: Path, database: str, pool_size: int = PGBOUNCER_POOL):
        self.workdir = workdir
        self.database = database
        self.pool_size = pool_size
        self.port = infra.free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def start(self, timeout: float = 20) -> PgBouncer:
        binary = pgbouncer_ensure()
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "userlist.txt").write_text('"postgres" ""\n')
        ini = self.workdir / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"{self.database} = host={infra.PG_HOST} port={infra.PG_PORT} dbname={self.database} user=postgres\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.workdir}/userlist.txt\n"
            "pool_mode = transaction\n"
            "max_client_conn = 1000\n"
            f"default_pool_size = {self.pool_size}\n"
            "min_pool_size = 0\n"
            "reserve_pool_size = 0\n"
            # psycopg/Django may send these at connect; PgBouncer would refuse the connection otherwise.
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {self.workdir}/pgbouncer.log\n"
            f"pidfile = {self.workdir}/pgbouncer.pid\n"
            "admin_users = postgres\n"
        )
        argv = [binary, str(ini)]
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            for path in [self.workdir, *self.workdir.iterdir()]:
                os.chown(path, user.pw_uid, user.pw_gid)
            argv = [binary, "-u", "postgres", str(ini)]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, process_group=0, cwd=self.workdir
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited with {self.process.returncode}:\n{self.log()}")
            if self._answers():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"pgbouncer did not answer within {timeout:.0f} s:\n{self.log()}")

    def _answers(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=2, prepare_threshold=None) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def log(self, tail: int = 3000) -> str:
        path = self.workdir / "pgbouncer.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def version(self) -> str:
        completed = subprocess.run([pgbouncer_ensure(), "--version"], capture_output=True, text=True, check=False)
        return (completed.stdout or completed.stderr).strip().splitlines()[0] if completed.stdout else ""

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)  # SIGINT: PgBouncer's immediate shutdown
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


# --- measurements ------------------------------------------------------------------------------------------------


def _served(nodes: list[Node]) -> list[int]:
    """API requests each node's gunicorn has logged so far (its access log): proof of where the load went."""
    counts = []
    for node in nodes:
        path = node.workdir / "web.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        counts.append(text.count('"POST /api/v1/'))
    return counts


def _connection_fresh() -> None:
    """A new connection for this process's own queries (a PostgreSQL restart elsewhere leaves the old one dead)."""
    from django.db import connection

    connection.close()


def _drain(timeout: float = 30.0) -> None:
    """Until no backend of the benchmark database has been busy for a second (the last requests have committed)."""
    from django.db import connection

    started = time.monotonic()
    quiet_since = None
    while time.monotonic() - started < timeout:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
            )
            busy = cursor.fetchone()[0]
        now = time.monotonic()
        if busy == 0:
            quiet_since = quiet_since or now
            if now - quiet_since >= 1.0:
                return
        else:
            quiet_since = None
        time.sleep(0.1)


def _wrk_config(data, codes: list[str], **extra) -> dict:
    from .cli import Bench

    return Bench._config(types.SimpleNamespace(data=data), codes, **extra)  # the benchmark's own wrk config


def _load_run(name, *, url, data, wrk, codes, duration, connections, workdir, hotspot=False, **extra) -> dict:
    """One wrk run of bench/lua/pairs.lua from an empty city, then bench.checks.run_check."""
    from .checks import marks_take, run_check
    from .load import visits_reset
    from .loadgen import wrk_run
    from .report import wrk_summary

    _connection_fresh()
    visits_reset()
    marks = marks_take()
    print(f"scaleout {name:<22} {duration:g} s ...", end=" ", flush=True)
    load = wrk_run(
        wrk=wrk,
        script="pairs",
        url=url + "/",
        duration=duration,
        connections=connections,
        config=_wrk_config(data, codes, **extra),
        workdir=workdir,
        name=f"scaleout-{name}",
    )
    _drain()
    summary = wrk_summary(load)
    check = run_check(data=data, marks=marks, load=summary, hotspot=hotspot)
    over = sum(max(0, o["max_inside"] - o["effective_capacity"]) for o in check["over_capacity"])
    summary["over_admissions"] = over
    summary["check"] = {k: check[k] for k in ("ok", "violations", "max_inside_any_office", "five_xx")}
    if hotspot:
        summary["check"]["hotspot"] = {k: v for k, v in check["hotspot"].items() if k != "events"}
    print(
        f"{summary['rps']:8.1f} rps  p99 {summary['p99_ms']:7.2f} ms  errors {summary['errors']}  "
        f"{'ok' if check['ok'] else 'FAIL: ' + '; '.join(check['violations'])}",
        flush=True,
    )
    return summary


def _door_session(entrance_ids: list[int]) -> str:
    """A door officer of those entrances' offices, logged in (the session key), as bench.cli's door_latency does."""
    import secrets

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore

    from offices.models import Entrance, OfficerAssignment

    user = get_user_model().objects.create_user(
        f"bench-scaleout-{secrets.token_hex(4)}", "bench@example.invalid", secrets.token_urlsafe(24), is_staff=True
    )
    user.groups.add(Group.objects.get(name="Petugas"))
    for office_id in set(Entrance.objects.filter(id__in=entrance_ids).values_list("office_id", flat=True)):
        OfficerAssignment.objects.create(user=user, office_id=office_id)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def cross_node_screen(*, data, front_url: str, node_b: Node, screens: int = 4, samples: int = 30) -> dict:
    """Door screens through the front (streams pinned to node A's uvicorn); check-ins straight to node B's gunicorn.
    The milliseconds from just before the check-in request to a screen receiving its event."""
    from offices.models import Entrance

    from .door_latency import bench_door_latency
    from .load import visits_reset
    from .people import colour_for, name_for, nik_for

    _connection_fresh()
    codes = {office.codes[0] for office in data.offices[:2]}
    by_id = dict(Entrance.objects.filter(code__in=codes).values_list("id", "code"))
    session_key = _door_session(sorted(by_id))
    people = (i for i in range(data.people - 1, 0, -1) if colour_for(i) == "green")
    served_by_b = 0

    def checkin_on_b(entrance_id: int) -> None:
        nonlocal served_by_b
        i = next(people)
        body = json.dumps({"entrance": by_id[entrance_id], "nik": nik_for(i), "name": name_for(i)})
        conn = http.client.HTTPConnection("127.0.0.1", node_b.web_port, timeout=10)
        try:
            conn.request(
                "POST",
                "/api/v1/checkins/",
                body=body,
                headers={"Content-Type": "application/json", "Host": "127.0.0.1", "X-Forwarded-For": "127.0.0.1"},
            )
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise RuntimeError(f"check-in on node B answered {response.status}")
        served_by_b += 1

    visits_reset()
    print(f"scaleout {'cross_node_screen':<22} ...", end=" ", flush=True)
    try:
        result = bench_door_latency(
            front_url, session_key, sorted(by_id), checkin_on_b, screens=screens, samples=samples
        )
    finally:
        _drain()
        visits_reset()
    result["checkins_on_node_b"] = served_by_b
    print(f"p50 {result.get('p50_ms')} ms  max {result.get('max_ms')} ms  missed {result.get('missed')}", flush=True)
    return result


def _direct_baseline(*, base: dict[str, str], codes, duration, **common) -> dict:
    """For reference: one node as `make bench` serves it (straight to PostgreSQL, prepared statements as the settings
    say), so what PgBouncer and the unprepared statements cost shows next to one_node_rps."""
    workdir = common["workdir"]
    node = Node(env=base, workdir=workdir / "node-direct")
    front = None
    try:
        node.start()
        front = Front(
            web=[f"127.0.0.1:{node.web_port}"],
            streams=[f"127.0.0.1:{node.streams_port}"],
            env=base,
            workdir=workdir / "front-direct",
        )
        front.start()
        return _load_run(
            "one_node_direct", url=front.url, codes=codes, duration=duration, hold=1, leave_probability=0, **common
        )
    finally:
        if front is not None:
            front.stop()
        node.stop()


# --- the run -----------------------------------------------------------------------------------------------------


def scaleout_run(
    *,
    data,
    wrk: str,
    env: dict[str, str] | None = None,
    duration: float = 15.0,
    hotspot_duration: float = 10.0,
    connections: int = 32,
    workers: int | None = None,
    workdir: Path = WORKDIR,
    direct_baseline: bool = False,
) -> dict:
    """Two nodes behind one nginx, PgBouncer in transaction mode: one node vs two (same duration, pairs.lua), a hot
    spot across both nodes, and the cross-node door screen. `data` is bench.load.BenchData of the loaded database
    this process's Django is connected to (directly, not through PgBouncer); `env` the servers' base environment
    (default: this process's, i.e. what bench.cli._environ put there). Every process is stopped before it returns."""
    from .load import visits_reset

    base = dict(os.environ if env is None else env)
    workers = workers or int(base.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    database = base.get("DATABASE_URL", infra.database_url()).rsplit("/", 1)[-1]
    bouncer = PgBouncer(workdir=workdir / "pgbouncer", database=database)
    nodes: list[Node] = []
    fronts: list[Front] = []
    result: dict = {"nodes": 2, "pgbouncer": "transaction"}
    try:
        bouncer.start()
        node_env = {
            **base,
            "DATABASE_URL": bouncer.url,
            # PgBouncer 1.18 in transaction mode cannot keep a connection's prepared statements (1.21 can).
            "DB_PREPARED_STATEMENTS": "false",
            "DB_POOL_MAX_SIZE": str(NODE_DB_POOL),
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_WORKER_CLASS": "sync",
        }
        for name in ("a", "b"):
            nodes.append(Node(env=node_env, workdir=workdir / f"node-{name}"))
        for node in nodes:
            node.start()
        a, b = nodes
        streams_a = [f"127.0.0.1:{a.streams_port}"]
        one = Front(web=[f"127.0.0.1:{a.web_port}"], streams=streams_a, env=node_env, workdir=workdir / "front-1")
        two = Front(
            web=[f"127.0.0.1:{n.web_port}" for n in nodes], streams=streams_a, env=node_env, workdir=workdir / "front-2"
        )
        fronts += [one, two]
        for front in fronts:
            front.start()
        codes = data.regular_codes
        common = {"data": data, "wrk": wrk, "connections": connections, "workdir": workdir}
        if direct_baseline:
            result["one_node_direct"] = _direct_baseline(
                base={**base, "WEB_CONCURRENCY": str(workers), "GUNICORN_WORKER_CLASS": "sync"},
                codes=codes,
                duration=duration,
                **common,
            )
        one_run = _load_run(
            "one_node", url=one.url, codes=codes, duration=duration, hold=1, leave_probability=0, **common
        )
        served_after_one = _served(nodes)
        one_run["api_requests_per_node"] = served_after_one
        two_run = _load_run(
            "two_nodes", url=two.url, codes=codes, duration=duration, hold=1, leave_probability=0, **common
        )
        served = _served(nodes)
        two_run["api_requests_per_node"] = [
            after - before for after, before in zip(served, served_after_one, strict=True)
        ]
        hot = _load_run(
            "two_nodes_hotspot",
            url=two.url,
            codes=data.hotspot.codes,
            duration=hotspot_duration,
            hotspot=True,
            hold=4,
            leave_probability=0.3,
            **common,
        )
        screen = cross_node_screen(data=data, front_url=two.url, node_b=b)
        runs = [one_run, two_run, hot]
        result.update(
            {
                "rps": two_run["rps"],
                "one_node_rps": one_run["rps"],
                "vs_one_node": round(two_run["rps"] / one_run["rps"], 3) if one_run["rps"] else None,
                "over_admissions": sum(run["over_admissions"] for run in runs),
                "cross_node_screen_ms": {"p50": screen.get("p50_ms"), "max": screen.get("max_ms")},
                "errors": sum(run["errors"] for run in runs),
                "cross_node_screen": screen,
                "runs": {"one_node": one_run, "two_nodes": two_run, "two_nodes_hotspot": hot},
                "topology": {
                    "web_workers_per_node": workers,
                    "worker_class": "sync",
                    "db_pool_per_process": NODE_DB_POOL,
                    "client_connections_per_node_max": NODE_DB_POOL * (workers + 1),
                    "pgbouncer_server_pool": PGBOUNCER_POOL,
                    "pgbouncer_version": bouncer.version(),
                    "prepared_statements": False,
                    "streams": "pinned to node A's uvicorn; scans taken on node B's gunicorn",
                    "cores": os.cpu_count(),
                    "duration_s": duration,
                    "connections": connections,
                },
            }
        )
        # The two-node run's own columns, so the result sits in bench.cli's runs table like any other run.
        result.update({k: two_run[k] for k in ("p50_ms", "p95_ms", "p99_ms", "requests", "non_2xx", "duration_s")})
        violations = [f"{name}: {v}" for name, run in result["runs"].items() for v in run["check"]["violations"]]
        if screen.get("max_ms") is None or screen["max_ms"] >= 1000 or screen.get("missed"):
            violations.append(
                f"cross-node screen: max {screen.get('max_ms')} ms, {screen.get('missed')} missed (limit 1000 ms)"
            )
        result["violations"] = violations
        result["ok"] = not violations
    finally:
        for process_set in [*fronts, *nodes]:
            process_set.stop()
        bouncer.stop()
        with contextlib.suppress(Exception):
            visits_reset()
    return result


# --- standalone --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--hotspot-duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn workers per node")
    parser.add_argument("--database", default="checkin_scaleout", help="the database it recreates and loads")
    parser.add_argument(
        "--direct-baseline", action="store_true", help="also one node straight to PostgreSQL, without PgBouncer"
    )
    parser.add_argument("--redis-db", type=int, default=11, help="the Redis db it empties and uses")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    # Its own database and Redis db, through the benchmark's own set-up functions (which read these names).
    infra.DATABASE = args.database
    infra.REDIS_DB = args.redis_db
    from .cli import _environ

    infra.services_start()
    wrk = infra.wrk_ensure()
    os.environ.update(_environ(port=infra.free_port(), workers=args.workers, max_requests=0, rate_limits=False))
    os.environ["STATIC_ROOT"] = str(WORKDIR.parent / "dc-scaleout-static")
    server_env = dict(os.environ)  # what the servers get (bench.cli's environment)
    # This process's own queries (set-up, resets, checks) without a pool: a new connection after a PostgreSQL
    # restart elsewhere. The nodes get their own pool size in scaleout_run.
    os.environ["DB_POOL_MAX_SIZE"] = "0"
    infra.database_recreate()
    import django

    django.setup()
    from django.core.management import call_command

    from .load import data_load

    call_command("migrate", "--noinput", verbosity=0)
    data = data_load(people=args.people)
    print(f"loaded {data.people:,} people into {infra.DATABASE}", flush=True)
    result = scaleout_run(
        data=data,
        wrk=wrk,
        env=server_env,
        duration=args.duration,
        hotspot_duration=args.hotspot_duration,
        connections=args.connections,
        workers=args.workers,
        direct_baseline=args.direct_baseline,
    )
    result["generated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    result["people"] = data.people
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "scaleout.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    headline = {k: result.get(k) for k in (
        "nodes", "rps", "one_node_rps", "vs_one_node", "over_admissions", "cross_node_screen_ms", "errors", "pgbouncer",
    )}  # fmt: skip
    print(json.dumps(headline, indent=2))
    print(f"results: {path}")
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
