"""The server under test: the production topology of `make serve` (serving.topology.Topology: nginx in front of
gunicorn WSGI workers and the uvicorn streams process), and its memory (RSS) sampled over time."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psutil

from serving.topology import Topology

ROOT = Path(__file__).resolve().parent.parent
# The best plain WSGI configuration measured on the 2-core machine (README, "Serving"): sync workers, 2 per core.
# floor_wsgi pins it, so the reference stays put if the product's defaults in gunicorn.conf.py change.
BEST_WSGI = {"GUNICORN_WORKER_CLASS": "sync", "WEB_CONCURRENCY": str(2 * (os.cpu_count() or 1))}


class Server:
    """The topology on 127.0.0.1:port, as `make serve` runs it (without Celery: the benchmark has no worker);
    always stopped by stop() (the caller runs it in a finally). `web_env` is added for gunicorn only."""

    def __init__(self, *, env: dict[str, str], port: int, log_path: Path, web_env: dict[str, str] | None = None):
        self.env = env
        self.port = port
        self.log_path = log_path
        self.web_env = web_env or {}
        self.topology: Topology | None = None

    @property
    def process(self):
        """gunicorn's master (the web process)."""
        return self.topology.processes["web"] if self.topology else None

    def start(self, *, timeout: float = 90) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - every process writes here until stop()
        try:
            self.topology = Topology(
                port=self.port,
                env=self.env,
                web_env=self.web_env,
                output=log,
                workdir=self.log_path.parent / f"serve-{self.port}",
            )
            self.topology.start(timeout=timeout)
        except Exception:
            self.topology = None
            raise
        finally:
            log.close()
        web_env = {**self.env, **self.web_env}
        expected = int(web_env.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))
        deadline = time.monotonic() + timeout
        while len(self.worker_pids()) < expected and time.monotonic() < deadline:
            time.sleep(0.25)

    def stop(self) -> None:
        if self.topology is not None:
            self.topology.stop()
            self.topology = None

    def pids(self) -> list[int]:
        """The top process of each server of the topology: gunicorn's master, uvicorn, nginx's master."""
        return [process.pid for process in self.topology.processes.values()] if self.topology else []

    def worker_pids(self) -> list[int]:
        """gunicorn's workers."""
        if self.process is None:
            return []
        try:
            return [child.pid for child in psutil.Process(self.process.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> float:
        """Resident memory of every process of the topology (masters and workers), in MB."""
        total = 0
        for pid in self.pids():
            try:
                top = psutil.Process(pid)
                processes = [top, *top.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
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
