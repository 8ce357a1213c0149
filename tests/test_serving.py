"""The production server for real: gunicorn with gunicorn.conf.py, DEBUG off, PostgreSQL and Redis.

Both worker kinds the topology may use: the uvicorn worker (ASGI, today's default) and gthread (WSGI). Each
server runs on a free loopback port against the test database, so what a request writes is visible here.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import require
from tests.factories import EntranceFactory, nik_make
from tests.test_settings import ROOT
from visitors.models import ScanEvent, Visit

WORKERS = {
    "uvicorn": ("denpasar_checkin.asgi:application", "uvicorn_worker.UvicornWorker"),
    "gthread": ("denpasar_checkin.wsgi:application", "gthread"),
}
CLIENT_LIMIT = 20
MB = 1024 * 1024


class Gunicorn:
    """One gunicorn process group on 127.0.0.1, started like `make serve` with the given environment."""

    def __init__(self, *, worker: str, env: dict[str, str], log: Path):
        self.port = _free_port()
        app, worker_class = WORKERS[worker]
        log_file = open(log, "wb")  # noqa: SIM115 - the server writes to it until stop()
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", app, "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env={
                **env,
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                "GUNICORN_WORKER_CLASS": worker_class,
                "WEB_CONCURRENCY": "1",
            },
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends the workers with it
        )
        log_file.close()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /readyz within {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def post_large(self, path: str, head: bytes, size: int, *, chunked: bool = False) -> tuple[int, bytes]:
        """POST `head` padded with spaces to `size` bytes, reading the answer while still sending.

        A server that refuses early may close the connection before the body is sent (gunicorn's sync worker
        does), so the client cannot first send everything and then read, as http.client does.
        """
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
        request_head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Accept-Language: en\r\n{framing}\r\nConnection: close\r\n\r\n"
        ).encode()
        body = head + b" " * (size - len(head))
        piece = 64 * 1024
        if chunked:
            chunks = (body[at : at + piece] for at in range(0, len(body), piece))
            body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"
        wire = memoryview(body)
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(request_head)
            sock.setblocking(False)
            sent, sending, answer = 0, True, b""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not _complete(answer):
                writing = [sock] if sending and sent < len(wire) else []
                readable, writable, _ = select.select([sock], writing, [], 1)
                if readable:
                    try:
                        data = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        break
                    if not data:
                        break
                    answer += data
                elif writable:
                    try:
                        sent += sock.send(wire[sent : sent + piece])
                    except BlockingIOError:
                        continue
                    except (BrokenPipeError, ConnectionResetError):
                        sending = False  # the server stopped reading: only its answer matters now
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
        return status, _payload(answer)


def _complete(answer: bytes) -> bool:
    head, sep, rest = answer.partition(b"\r\n\r\n")
    if not sep:
        return False
    if b"transfer-encoding: chunked" in head.lower():
        return rest.endswith(b"0\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(rest) >= int(line.split(b":", 1)[1])
    return False


def _payload(answer: bytes) -> bytes:
    head, _sep, rest = answer.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return rest
    body = b""
    while rest:
        size_line, _sep, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        body, rest = body + rest[:size], rest[size + 2 :]
    return body


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(**extra: str) -> dict[str, str]:
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict  # the test database pytest-django created
    credentials = quote(db["USER"] or "", safe="") + (":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else "")
    dropped = {"TRUSTED_PROXY_COUNT", "TRUSTED_PROXY_IPS", "FORWARDED_ALLOW_IPS", "RATE_LIMIT_CLIENT", "DEBUG"}
    return {
        **{key: value for key, value in os.environ.items() if key not in dropped},
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "NIK_HASH_KEY": os.environ.get("NIK_HASH_KEY") or "1:dev-insecure-nik-hash-key",
        "FIELD_ENCRYPTION_KEY": os.environ.get("FIELD_ENCRYPTION_KEY")
        or "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SECURE_SSL_REDIRECT": "false",
        "RATE_LIMIT_ENABLED": "true",
        # An hour's window: a run that crosses a window boundary still meets the limit within two windows.
        "RATE_LIMIT_CLIENT": f"{CLIENT_LIMIT}/h",
        **extra,
    }


def _start(request, tmp_path_factory, **extra: str) -> Gunicorn:
    from django.conf import settings

    require(
        settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test",
    )
    require(bool(settings.REDIS_URL), "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    log = tmp_path_factory.mktemp("gunicorn") / f"{request.param}.log"
    server = Gunicorn(worker=request.param, env=_server_env(**extra), log=log)
    try:
        server.wait_ready()
    except Exception:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module", params=list(WORKERS))
def server(request, django_db_setup, tmp_path_factory):
    """Production settings with no proxy in front (TRUSTED_PROXY_COUNT unset)."""
    server = _start(request, tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="module", params=list(WORKERS))
def server_behind_proxy(request, django_db_setup, tmp_path_factory):
    """Production settings behind one proxy on 127.0.0.1: this test's requests come from the proxy's address."""
    server = _start(request, tmp_path_factory, TRUSTED_PROXY_COUNT="1", TRUSTED_PROXY_IPS="127.0.0.1")
    yield server
    server.stop()


def _statuses(server: Gunicorn, forwarded_for, count: int = 3 * CLIENT_LIMIT) -> list[int]:
    statuses = []
    for i in range(count):
        status, headers, _body = server.request(
            "POST",
            "/api/v1/checkins/",
            body=b"{}",  # counted per client, then refused as incomplete: nothing is written
            headers={"Content-Type": "application/json", "X-Forwarded-For": forwarded_for(i)},
        )
        statuses.append(status)
        if status == 429:
            assert int(headers["Retry-After"]) >= 1
            break
    return statuses


@pytest.mark.django_db(transaction=True)
def test_a_rotating_forwarded_for_does_not_escape_the_per_client_limit(server):
    # Before: gunicorn.conf.py had forwarded_allow_ips="*", the uvicorn worker took each request's header as its
    # address, and 320 requests never met a 429.
    statuses = _statuses(server, lambda i: f"10.{i // 250}.{i % 250}.7")
    assert statuses[-1] == 429, statuses
    # One window boundary at most may fall inside the run.
    assert CLIENT_LIMIT < len(statuses) <= 2 * CLIENT_LIMIT + 1
    assert set(statuses[:-1]) == {400}


@pytest.mark.django_db(transaction=True)
def test_behind_a_proxy_each_client_the_proxy_saw_is_counted_apart(server_behind_proxy):
    statuses = _statuses(server_behind_proxy, lambda i: f"203.0.113.{i % 250}", count=2 * CLIENT_LIMIT + 2)
    assert 429 not in statuses


@pytest.mark.django_db(transaction=True)
def test_behind_a_proxy_what_the_client_wrote_before_the_proxys_entry_is_ignored(server_behind_proxy):
    # The proxy appended the address it saw (203.0.113.7); the client wrote the rest. Taken once, the address is
    # 203.0.113.7; peeled twice (server and app) it would be the client's own rotating entry.
    statuses = _statuses(server_behind_proxy, lambda i: f"10.{i // 250}.{i % 250}.7, 203.0.113.7")
    assert statuses[-1] == 429, statuses
    assert len(statuses) <= 2 * CLIENT_LIMIT + 1


@pytest.mark.django_db(transaction=True)
def test_a_twenty_megabyte_body_is_413_json_and_writes_nothing(server):
    entrance = EntranceFactory()
    head = json.dumps({"entrance": entrance.code, "nik": nik_make(1), "name": "Ni Luh Ayu"}).encode()

    status, body = server.post_large("/api/v1/checkins/", head, 20 * MB)

    assert status == 413, body[:300]
    assert json.loads(body) == {"detail": "The request body is too large.", "code": "too_large"}
    assert not ScanEvent.objects.exists() and not Visit.objects.exists()
    # The same check-in, small, is read and written: the refusal was about the size alone.
    status, _headers, _body = server.request(
        "POST", "/api/v1/checkins/", body=head, headers={"Content-Type": "application/json"}
    )
    assert status == 200 and ScanEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_twenty_megabyte_form_post_is_413(server):
    entrance = EntranceFactory()
    status, body = server.post_large(f"/c/{entrance.code}/", b"name=x", 20 * MB)
    assert status == 413
    assert body == b"The request body is too large."
    assert not ScanEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_chunked_twenty_megabyte_body_is_never_read_into_a_check_in(server, request):
    entrance = EntranceFactory()
    head = json.dumps({"entrance": entrance.code, "nik": nik_make(1), "name": "Ni Luh Ayu"}).encode()

    status, body = server.post_large("/api/v1/checkins/", head, 20 * MB, chunked=True)

    if request.node.callspec.params["server"] == "uvicorn":
        # The ASGI wrapper counts the chunks and cuts the body off at the limit.
        assert status == 413 and json.loads(body)["code"] == "too_large"
    else:
        # Under WSGI, Django reads no body without Content-Length: the request arrives empty.
        assert status == 400, body[:300]
    assert not ScanEvent.objects.exists()
