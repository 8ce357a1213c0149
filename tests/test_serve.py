"""`make serve`: the production topology (serving/topology.py) through its one port, and compose runs the same.

nginx in front of gunicorn (WSGI) and uvicorn (the door's event streams), on a database of its own
(checkin_serve_test, migrated by the topology like `make serve` does) and a Redis database of its own. The Celery
worker and beat are left out here (celery=False): everything below is answered by the web processes; the
commands they would run are compared with docker-compose.yml.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from serving import topology as serving
from tests.conftest import require
from tests.test_settings import ROOT

DATABASE = "checkin_serve_test"
REDIS_DB = 13
CLIENT_LIMIT = 20
NAME = "Ni Luh Ayu Sukmawati"

_SEED = f"""
NAME = {NAME!r}
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
entrance = EntranceFactory(office__name="Dinas Kesehatan", office__capacity=10, name="Pintu Utama")
HealthStatusFactory(nik=nik_make(1), name=NAME, doses=2)
officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
client = Client()
client.force_login(officer)
cookie = settings.SESSION_COOKIE_NAME + "=" + client.cookies[settings.SESSION_COOKIE_NAME].value
print(json.dumps({{"entrance_id": entrance.pk, "code": entrance.code, "cookie": cookie}}))
"""


def _database_url(name: str) -> str:
    from django.db import connection

    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="") + (":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_database_url("postgres"), autocommit=True) as conn:
        conn.execute(sql)


def _redis_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{REDIS_DB}"))


@pytest.fixture(scope="module")
def served(django_db_setup, tmp_path_factory):
    """The topology on a free port, with production settings and one proxy trusted (nginx on 127.0.0.1)."""
    from django.conf import settings

    require(
        settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test",
    )
    require(bool(settings.REDIS_URL), "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    require(serving.nginx_path() is not None, "needs nginx (apt-get install nginx)")
    import redis

    redis_url = _redis_url(settings.REDIS_URL)
    redis.Redis.from_url(redis_url).flushdb()
    _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    _admin(f"CREATE DATABASE {DATABASE}")
    dropped = {"TRUSTED_PROXY_COUNT", "TRUSTED_PROXY_IPS", "RATE_LIMIT_CLIENT", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    env = {
        **{key: value for key, value in os.environ.items() if key not in dropped},
        "DATABASE_URL": _database_url(DATABASE),
        "REDIS_URL": redis_url,
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "NIK_HASH_KEY": os.environ.get("NIK_HASH_KEY") or "1:dev-insecure-nik-hash-key",
        "FIELD_ENCRYPTION_KEY": os.environ.get("FIELD_ENCRYPTION_KEY")
        or "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "RATE_LIMIT_ENABLED": "true",
        # An hour's window: a run that crosses a window boundary still meets the limit within two windows.
        "RATE_LIMIT_CLIENT": f"{CLIENT_LIMIT}/h",
        "WEB_CONCURRENCY": "2",
    }
    topology = serving.Topology(env=env, migrate=True, workdir=tmp_path_factory.mktemp("serve"))
    try:
        topology.start(timeout=120)
        seeded = subprocess.run(
            [sys.executable, "-c", _SEED],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "denpasar_checkin.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert seeded.returncode == 0, seeded.stderr[-3000:]
        yield topology, json.loads(seeded.stdout.strip().splitlines()[-1])
    finally:
        topology.stop()
        redis.Redis.from_url(redis_url).flushdb()
        _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _request(topology, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", topology.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


class Stream:
    """A door event stream read in a background thread: each server-sent event lands in `events`."""

    def __init__(self, port: int, path: str, cookie: str):
        self.events: queue.Queue = queue.Queue()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n"
            "Accept-Language: en\r\n\r\n".encode()
        )
        self.file = self.sock.makefile("rb")
        self.status = int(self.file.readline().split()[1])
        self.headers = {}
        while (line := self.file.readline().strip()) != b"":
            key, _sep, value = line.decode().partition(":")
            self.headers[key.strip().lower()] = value.strip()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        event: dict = {}
        try:
            for raw in self.file:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    event["event"] = line[6:].strip()
                elif line.startswith("data:"):
                    event["data"] = line[5:].strip()
                elif line.startswith("id:"):
                    event["id"] = line[3:].strip()
                elif line == "" and event:
                    self.events.put(event)
                    event = {}
        except (OSError, ValueError):
            pass

    def scan(self, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if event.get("event") == "scan":
                return event
        return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


@pytest.mark.django_db
def test_one_port_answers_readyz_a_check_in_and_the_door_stream(served):
    from tests.factories import nik_make

    topology, seed = served
    status, _headers, body = _request(topology, "GET", "/readyz")
    assert status == 200, body[:300]

    # The stream is routed to uvicorn; its answer comes at once (headers, then events as they happen).
    stream = Stream(topology.port, f"/door/{seed['entrance_id']}/events", seed["cookie"])
    try:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        time.sleep(0.5)  # let the stream take its cursor before the check-in
        checkin = json.dumps({"entrance": seed["code"], "nik": nik_make(1), "name": NAME}).encode()
        status, _headers, body = _request(
            topology, "POST", "/api/v1/checkins/", body=checkin, headers={"Content-Type": "application/json"}
        )
        assert status == 200, body[:300]
        assert json.loads(body)["outcome"] == "admitted"

        event = stream.scan(timeout=5)
        assert event is not None, "the door stream showed no scan within 5 s"
        data = json.loads(event["data"])
        assert data["outcome"] == "admitted"
        assert data["action"] == "checkin" and data["name"].startswith("N")
    finally:
        stream.close()
    # The streams process served the stream, gunicorn the rest.
    assert f"/door/{seed['entrance_id']}/events" in topology.log("streams")
    assert "/api/v1/checkins/" in topology.log("web")
    assert "/api/v1/checkins/" not in topology.log("streams")


@pytest.mark.django_db
def test_a_rotating_forwarded_for_does_not_escape_the_per_client_limit_behind_nginx(served):
    # nginx appends the address it saw (127.0.0.1) and the app peels exactly that hop, so what the client writes
    # in X-Forwarded-For never becomes its address.
    topology, _seed = served
    statuses = []
    for i in range(3 * CLIENT_LIMIT):
        status, headers, _body = _request(
            topology,
            "POST",
            "/api/v1/checkins/",
            body=b"{}",  # counted per client, then refused as incomplete: nothing is written
            headers={"Content-Type": "application/json", "X-Forwarded-For": f"10.{i // 250}.{i % 250}.7"},
        )
        statuses.append(status)
        if status == 429:
            assert int(headers["Retry-After"]) >= 1
            break
    assert statuses[-1] == 429, statuses
    # The check-in of the other test counted too; one window boundary at most may fall inside the run.
    assert len(statuses) <= 2 * CLIENT_LIMIT + 1
    assert set(statuses[:-1]) == {400}


def test_the_topology_runs_the_commands_of_docker_compose():
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert compose["migrate"]["command"] == serving.MIGRATE
    assert compose["web"]["command"] == serving.WEB
    assert compose["streams"]["command"] == serving.STREAMS
    assert compose["worker"]["command"] == serving.WORKER
    assert compose["beat"]["command"] == serving.BEAT
    # nginx renders the same template, with the same variables the topology fills in.
    assert compose["nginx"]["volumes"] == ["./serving/app.conf.template:/etc/nginx/templates/default.conf.template:ro"]
    template = serving.TEMPLATE.read_text()
    names = set(serving._PLACEHOLDER.findall(template))
    assert names == {"LISTEN", "WEB_UPSTREAM", "STREAMS_UPSTREAM", "CLIENT_MAX_BODY_SIZE"}
    assert names <= set(compose["nginx"]["environment"])
    assert (
        compose["streams"]["environment"]["UVICORN_PORT"]
        == compose["nginx"]["environment"]["STREAMS_UPSTREAM"].rsplit(":", 1)[1]
    )
    # Only nginx is published; the app trusts nginx's one hop, from nginx's fixed address.
    assert [name for name, service in compose.items() if service.get("ports")] == ["nginx"]
    nginx_ip = compose["nginx"]["networks"]["backend"]["ipv4_address"]
    for name in ("web", "streams"):
        assert compose[name]["environment"]["TRUSTED_PROXY_COUNT"] == "${TRUSTED_PROXY_COUNT:-1}"
        assert compose[name]["environment"]["TRUSTED_PROXY_IPS"] == "${TRUSTED_PROXY_IPS:-" + nginx_ip + "}"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"CMD {json.dumps(serving.WEB)}" in dockerfile


def test_nginx_lets_the_app_answer_its_own_413():
    assert serving.client_max_body_size({}) == "65m"
    assert serving.client_max_body_size({"REQUEST_BODY_MAX_BYTES": str(10 * 2**20 + 1)}) == "12m"
    rendered = serving.render(
        serving.TEMPLATE.read_text(),
        {"LISTEN": "80", "WEB_UPSTREAM": "w:1", "STREAMS_UPSTREAM": "s:2", "CLIENT_MAX_BODY_SIZE": "65m"},
    )
    assert "client_max_body_size 65m;" in rendered and "$proxy_add_x_forwarded_for" in rendered
