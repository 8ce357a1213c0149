"""The production topology on one machine: nginx on one port in front of gunicorn (WSGI) and uvicorn (ASGI streams).

    client -> nginx :PORT --/door/<id>/events--> uvicorn denpasar_checkin.asgi   (1 process, async streams)
                          \\--everything else--> gunicorn denpasar_checkin.wsgi  (sync workers, gunicorn.conf.py)
    plus, with celery=True, the Celery worker and beat; migrations run first.

The commands below are exactly the ones docker-compose.yml runs (tests/test_serve.py compares them); only the
addresses differ, and they travel in the environment (GUNICORN_BIND, UVICORN_HOST/UVICORN_PORT). Every process
runs in one process group of its own, so stop() (or Ctrl-C in `python -m serving`) ends them all.
nginx runs as an ordinary user: its config, pid file, logs and temp files live in the topology's work directory.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "app.conf.template"

# The processes, as docker-compose.yml names and runs them.
MIGRATE = ["python", "manage.py", "migrate", "--noinput"]
WEB = ["gunicorn", "denpasar_checkin.wsgi:application", "-c", "gunicorn.conf.py"]
# One process: the streams are async there and hold no worker. The app peels the proxy's hop itself
# (TRUSTED_PROXY_COUNT), so uvicorn leaves the client address alone. Open streams get 5 s to end on shutdown.
STREAMS = [
    "uvicorn",
    "denpasar_checkin.asgi:application",
    "--workers",
    "1",
    "--no-proxy-headers",
    "--timeout-graceful-shutdown",
    "5",
]
WORKER = ["celery", "-A", "denpasar_checkin", "worker", "--loglevel=INFO", "--concurrency=2"]
BEAT = ["celery", "-A", "denpasar_checkin", "beat", "--loglevel=INFO"]

DEFAULT_BODY_MAX_BYTES = 64 * 1024 * 1024
_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def executable(argv: list[str]) -> list[str]:
    """The command with its program taken from this interpreter's environment (the virtualenv's bin)."""
    name, rest = argv[0], argv[1:]
    if name == "python":
        return [sys.executable, *rest]
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    return [found, *rest] if found else [sys.executable, "-m", name, *rest]


def render(template: str, values: dict[str, str]) -> str:
    """${NAME} -> values[NAME], like envsubst with only the given names (nginx's own $variables stay)."""

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"{TEMPLATE.name}: no value for ${{{name}}}")
        return values[name]

    return _PLACEHOLDER.sub(one, template)


def client_max_body_size(env: dict[str, str]) -> str:
    """Above the app's REQUEST_BODY_MAX_BYTES (by a megabyte), so a too-large body reaches the app's own 413."""
    limit = int(env.get("REQUEST_BODY_MAX_BYTES") or DEFAULT_BODY_MAX_BYTES)
    return f"{math.ceil(limit / 2**20) + 1}m"


def nginx_main_conf(directory: Path) -> str:
    """The main config around the app's snippet: foreground, and every file nginx writes inside `directory`."""
    user = ""
    if os.geteuid() == 0:
        import pwd

        # As root nginx would switch its workers to "nobody", who cannot write to the private temp directory.
        user = f"user {pwd.getpwuid(0).pw_name};\n"
    return (
        "daemon off;\n"
        f"{user}"
        "worker_processes 1;\n"
        f"pid {directory}/nginx.pid;\n"
        f"error_log {directory}/error.log warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        f"    access_log {directory}/access.log;\n"
        f"    client_body_temp_path {directory}/client_body;\n"
        f"    proxy_temp_path {directory}/proxy;\n"
        f"    fastcgi_temp_path {directory}/fastcgi;\n"
        f"    uwsgi_temp_path {directory}/uwsgi;\n"
        f"    scgi_temp_path {directory}/scgi;\n"
        f"    include {directory}/app.conf;\n"
        "}\n"
    )


def nginx_path() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None
    )


class Topology:
    """nginx + gunicorn WSGI + uvicorn ASGI (+ Celery worker and beat) on loopback; start(), then stop() in a finally.

    `env` is the environment every process gets (default: this process's); the topology adds the addresses and
    the proxy trust (TRUSTED_PROXY_COUNT=1 from 127.0.0.1: nginx appends the client's address, the app peels it).
    `web_env` is added for gunicorn only (e.g. GUNICORN_WORKER_CLASS, WEB_CONCURRENCY).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        env: dict[str, str] | None = None,
        web_env: dict[str, str] | None = None,
        celery: bool = False,
        migrate: bool = False,
        workdir: Path | None = None,
        output=None,
    ):
        self.host = host
        self.port = port or free_port()
        self.web_port = free_port()
        self.streams_port = free_port()
        self.celery = celery
        self.migrate = migrate
        self.output = output  # a file for every process's output; None: a log file per process in workdir
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="dc-serve-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        base = dict(os.environ if env is None else env)
        self.env = {
            **base,
            "TRUSTED_PROXY_COUNT": "1",
            "TRUSTED_PROXY_IPS": "127.0.0.1",
            "CELERY_BEAT_SCHEDULE_FILENAME": str(self.workdir / "celerybeat-schedule"),
        }
        self.web_env = {"GUNICORN_BIND": f"127.0.0.1:{self.web_port}", **(web_env or {})}
        self.streams_env = {"UVICORN_HOST": "127.0.0.1", "UVICORN_PORT": str(self.streams_port)}
        self.processes: dict[str, subprocess.Popen] = {}
        self._pgid: int | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- the pieces ----------------------------------------------------------------------------------------------

    def nginx_conf(self) -> Path:
        values = {
            "LISTEN": f"{self.host}:{self.port}",
            "WEB_UPSTREAM": f"127.0.0.1:{self.web_port}",
            "STREAMS_UPSTREAM": f"127.0.0.1:{self.streams_port}",
            "CLIENT_MAX_BODY_SIZE": client_max_body_size(self.env),
        }
        (self.workdir / "app.conf").write_text(render(TEMPLATE.read_text(), values))
        conf = self.workdir / "nginx.conf"
        conf.write_text(nginx_main_conf(self.workdir))
        return conf

    def commands(self) -> dict[str, tuple[list[str], dict[str, str]]]:
        """name -> (argv, extra environment), in start order."""
        nginx = nginx_path()
        if nginx is None:
            raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx)")
        conf = self.nginx_conf()
        commands = {
            "web": (executable(WEB), self.web_env),
            "streams": (executable(STREAMS), self.streams_env),
            "nginx": ([nginx, "-p", f"{self.workdir}/", "-e", str(self.workdir / "error.log"), "-c", str(conf)], {}),
        }
        if self.celery:
            commands["worker"] = (executable(WORKER), {})
            commands["beat"] = (executable(BEAT), {})
        return commands

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def start(self, *, timeout: float = 90) -> Topology:
        try:
            if self.migrate:
                out = self._out("migrate")
                try:
                    subprocess.run(
                        executable(MIGRATE), cwd=ROOT, env=self.env, check=True, stdout=out, stderr=subprocess.STDOUT
                    )
                finally:
                    self._close(out)
            for name, (argv, extra) in self.commands().items():
                group = {"process_group": self._pgid or 0}  # the first one leads a new group; the rest join it
                out = self._out(name)
                try:
                    process = subprocess.Popen(
                        argv, cwd=ROOT, env={**self.env, **extra}, stdout=out, stderr=subprocess.STDOUT, **group
                    )
                finally:
                    self._close(out)
                self.processes[name] = process
                if self._pgid is None:
                    self._pgid = process.pid
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self, name: str, *, timeout: float = 30) -> subprocess.Popen:
        """Stop one process of the topology (SIGTERM, SIGKILL after `timeout`) and start it again with the same
        command, in the same process group (so stop() still ends it). For fault drills (bench/chaos.py)."""
        argv, extra = self.commands()[name]
        old = self.processes.get(name)
        if old is not None and old.poll() is None:
            old.terminate()
            try:
                old.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                old.kill()
                old.wait(timeout=10)
        out = self._out(name)
        try:
            process = subprocess.Popen(
                argv, cwd=ROOT, env={**self.env, **extra}, stdout=out, stderr=subprocess.STDOUT,
                process_group=self._pgid or 0,
            )  # fmt: skip
        finally:
            self._close(out)
        self.processes[name] = process
        return process

    def _out(self, name: str):
        if self.output is not None:
            return self.output
        return open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed by _close once the child has it

    def _close(self, out) -> None:
        if out is not self.output and hasattr(out, "close"):
            out.close()

    def log(self, name: str, tail: int = 3000) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def _wait_ready(self, timeout: float) -> None:
        """Ready when the streams process answers /healthz and /readyz answers 200 through nginx (so via gunicorn)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)}")
            host = self._host_header()
            if _status("127.0.0.1", self.streams_port, "/healthz", host) == 200 and (
                _status(self.host, self.port, "/readyz", host) == 200
            ):
                return
            time.sleep(0.2)
        logs = "\n".join(f"--- {name}\n{self.log(name)}" for name in self.processes)
        raise RuntimeError(f"the topology did not get ready within {timeout:.0f} s:\n{logs}")

    def _host_header(self) -> str:
        """The first allowed host name (production ALLOWED_HOSTS may not name 127.0.0.1), like compose's probe."""
        first = (self.env.get("ALLOWED_HOSTS") or "").split(",")[0].strip().lstrip(".")
        return first if first and first != "*" else "127.0.0.1"

    def stop(self, *, timeout: float = 20) -> None:
        """SIGTERM to the whole group (each server shuts down gracefully), SIGKILL to whatever is left after timeout."""
        if self._pgid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._pgid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for process in self.processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._pgid, signal.SIGKILL)  # stragglers, workers of a master that died first
            for process in self.processes.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
        self.processes = {}
        self._pgid = None
        if self._own_workdir and not os.environ.get("DC_SERVE_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Topology:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _status(host: str, port: int, path: str, host_header: str) -> int:
    try:
        conn = http.client.HTTPConnection(host, port, timeout=2)
        try:
            conn.request("GET", path, headers={"Host": host_header})
            return conn.getresponse().status
        finally:
            conn.close()
    except OSError:
        return 0
