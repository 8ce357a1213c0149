"""The server under test: gunicorn with the production gunicorn.conf.py, and its memory (RSS) sampled over time."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


class Server:
    """One gunicorn process group on 127.0.0.1; always stopped by stop() (the caller runs it in a finally)."""

    def __init__(self, *, env: dict[str, str], port: int, log_path: Path):
        self.env = env
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 60) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the server's lifetime
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "denpasar_checkin.asgi:application", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() ends every worker with it
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            if self._ready() and len(self.worker_pids()) >= int(self.env.get("WEB_CONCURRENCY", "1")):
                return
            time.sleep(0.25)
        raise RuntimeError(f"gunicorn did not answer /readyz within {timeout:.0f} s; see {self.log_path}")

    def _ready(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/readyz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        pgid = self.process.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        try:
            return [child.pid for child in psutil.Process(self.process.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> float:
        """Resident memory of the master and every worker, in MB."""
        if self.process is None:
            return 0.0
        try:
            master = psutil.Process(self.process.pid)
            processes = [master, *master.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total / 2**20


class RssSampler:
    """Samples the server's RSS (and how many PostgreSQL backends serve the benchmark database) every `interval`
    seconds in a background thread while a run is going."""

    def __init__(self, server: Server, *, interval: float = 1.0, dsn: str | None = None):
        self.server = server
        self.interval = interval
        self.dsn = dsn or os.environ.get("DATABASE_URL", "")
        self.samples: list[tuple[float, float]] = []
        self.pg_backends_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started = 0.0

    def __enter__(self) -> RssSampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        import psycopg

        conn = psycopg.connect(self.dsn) if self.dsn else None
        try:
            if conn is not None:
                conn.autocommit = True
            while True:
                self.samples.append((round(time.monotonic() - self._started, 1), round(self.server.rss_mb(), 1)))
                if conn is not None:
                    with conn.cursor() as cursor:
                        cursor.execute(
                            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid()"
                        )
                        self.pg_backends_peak = max(self.pg_backends_peak, cursor.fetchone()[0])
                if self._stop.wait(self.interval):
                    return
        finally:
            if conn is not None:
                conn.close()

    @property
    def peak_mb(self) -> float:
        return max((mb for _t, mb in self.samples), default=0.0)
