"""Machine set-up for the benchmark: PostgreSQL, Redis and wrk (started or installed like .ci/run does)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

PG_HOST = "127.0.0.1"
PG_PORT = 5432
REDIS_PORT = 6379
REDIS_DB = 9
DATABASE = "checkin_bench"


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, text=True, capture_output=True, **kwargs)


def _wait(probe, what: str, seconds: int = 30) -> None:
    for _ in range(seconds * 4):
        if probe():
            return
        time.sleep(0.25)
    raise RuntimeError(f"{what} did not come up within {seconds} s")


def _pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", PG_HOST, "-p", str(PG_PORT)], check=False).returncode == 0


def _redis_ready() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def services_start() -> None:
    """Start PostgreSQL and Redis when they are not answering (same commands as .ci/run)."""
    if not _pg_ready():
        version = sorted(os.listdir("/etc/postgresql"))[0]
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])
        _wait(_pg_ready, "PostgreSQL")
    if not _redis_ready():
        Path("/var/lib/redis").mkdir(parents=True, exist_ok=True)
        Path("/var/log/redis").mkdir(parents=True, exist_ok=True)
        _run(
            [
                "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", str(REDIS_PORT),
                "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
            ]
        )  # fmt: skip
        _wait(_redis_ready, "Redis")


def wrk_ensure() -> str:
    """The wrk binary, installed from Debian's package when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "wrk"]
    if subprocess.run(install, check=False, env=env, capture_output=True).returncode != 0:
        _run(["apt-get", "update", "-q"], env=env)
        _run(install, env=env)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


def database_url() -> str:
    return f"postgres://postgres@{PG_HOST}:{PG_PORT}/{DATABASE}"


def redis_url() -> str:
    return f"redis://127.0.0.1:{REDIS_PORT}/{REDIS_DB}"


def database_recreate() -> None:
    """Drop and create the benchmark database (never the app's or CI's), and empty Redis db 9."""
    import psycopg
    import redis

    conn = psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        conn.close()
    redis.Redis.from_url(redis_url()).flushdb()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
