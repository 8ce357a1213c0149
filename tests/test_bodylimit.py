"""Oversize bodies answer 413 before they are read: JSON under /api/, plain text elsewhere (the test client and the
ASGI wrapper here; the real gunicorn server with both worker kinds in test_serving.py)."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from denpasar_checkin.bodylimit import BodyLimitASGI, body_limit
from tests.factories import EntranceFactory, UserFactory, nik_make
from visitors.models import ScanEvent

MB = 1024 * 1024


@pytest.fixture
def small_limits(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.REQUEST_BODY_MAX_BYTES = 5000
    return settings


def test_the_limit_depends_on_whether_the_body_is_a_file_upload(small_limits):
    assert body_limit("application/json") == 1000
    assert body_limit("application/x-www-form-urlencoded") == 1000
    assert body_limit("multipart/form-data; boundary=x") == 5000
    small_limits.DATA_UPLOAD_MAX_MEMORY_SIZE = None
    assert body_limit("application/json") == 5000


def test_the_defaults_fit_the_bulk_api_and_the_admin_upload(settings):
    assert body_limit("application/json") == 10 * MB  # POST /api/v1/health-statuses/ takes up to 10 MB
    assert body_limit("multipart/form-data") > 50 * MB  # the admin's CSV upload takes up to 50 MB


@pytest.mark.django_db
def test_an_oversize_api_body_is_413_json_and_writes_nothing(client):
    entrance = EntranceFactory()
    body = json.dumps({"entrance": entrance.code, "nik": nik_make(1), "name": "Ni Luh Ayu"}) + " " * (11 * MB)

    response = client.post("/api/v1/checkins/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large.", "code": "too_large"}
    assert not ScanEvent.objects.exists()


@pytest.mark.django_db
def test_an_api_body_between_djangos_old_limit_and_ours_is_read(client):
    """3 MB passed Django's default 2.5 MB and was a 500 (RequestDataTooBig inside DRF); now the parser decides."""
    body = json.dumps({"entrance": "x" * (3 * MB)})
    response = client.post("/api/v1/checkins/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


@pytest.mark.django_db
def test_an_oversize_form_post_is_413_text(client, small_limits):
    entrance = EntranceFactory()
    response = client.post(f"/c/{entrance.code}/", {"name": "x" * 2000}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"The request body is too large."
    assert not ScanEvent.objects.exists()


@pytest.mark.django_db
def test_the_413_is_in_the_callers_language(client, small_limits):
    response = client.post("/api/v1/checkins/", "x" * 2000, content_type="application/json", HTTP_ACCEPT_LANGUAGE="id")
    assert response.status_code == 413
    assert response.json() == {"detail": "Isi permintaan terlalu besar.", "code": "too_large"}


@pytest.mark.django_db
def test_a_file_upload_may_be_larger_than_a_form(client, small_limits):
    client.force_login(UserFactory(is_superuser=True))
    upload = SimpleUploadedFile("x.csv", b"nik,name\n" + b"1,a\n" * 500, content_type="text/csv")  # ~2 KB
    response = client.post("/admin/screening/healthstatus/import-csv/", {"file": upload})
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_multipart_post_whose_fields_are_too_big_is_413_not_400(client, small_limits):
    """Django finds this out only while it reads the fields; handler400 turns its RequestDataTooBig into 413."""
    entrance = EntranceFactory()
    response = client.post(f"/c/{entrance.code}/", {"name": "x" * 3000}, HTTP_ACCEPT_LANGUAGE="en")  # multipart
    assert response.status_code == 413


def test_an_unknown_path_gets_the_same_answer(client, small_limits):
    response = client.post("/api/v1/nowhere/", "x" * 2000, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (413, "too_large")
    assert client.post("/nowhere/", "x" * 2000, content_type="text/plain").status_code == 413


# --- the ASGI wrapper -------------------------------------------------------------------------------------------


class Recorder:
    """A stand-in for Django's ASGI handler: reads the body like it does, stops at a disconnect, answers 200."""

    def __init__(self):
        self.read = b""
        self.called = False

    async def __call__(self, scope, receive, send):
        self.called = True
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            self.read += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def run_asgi(app, *, headers: list[tuple[bytes, bytes]], chunks: list[bytes], path: str = "/api/v1/checkins/"):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive():
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, len(pending)


JSON = (b"content-type", b"application/json")


def test_asgi_refuses_by_content_length_before_reading_a_byte(small_limits):
    inner = Recorder()
    status, body, unread = run_asgi(
        BodyLimitASGI(inner),
        headers=[JSON, (b"content-length", b"2000"), (b"accept-language", b"en")],
        chunks=[b"x" * 2000],
    )
    assert status == 413 and json.loads(body) == {"detail": "The request body is too large.", "code": "too_large"}
    assert not inner.called and unread == 1


def test_asgi_cuts_a_chunked_body_off_at_the_limit(small_limits):
    inner = Recorder()
    status, body, unread = run_asgi(
        BodyLimitASGI(inner), headers=[JSON, (b"transfer-encoding", b"chunked")], chunks=[b"x" * 600] * 5
    )
    assert status == 413 and json.loads(body)["code"] == "too_large"
    assert len(inner.read) == 600  # the second chunk passed the limit and never reached the application
    assert unread == 3


def test_asgi_passes_bodies_within_the_limit(small_limits):
    inner = Recorder()
    assert run_asgi(BodyLimitASGI(inner), headers=[JSON, (b"transfer-encoding", b"chunked")], chunks=[b"x" * 400] * 2)[
        :2
    ] == (
        200,
        b"ok",
    )
    inner = Recorder()
    assert run_asgi(BodyLimitASGI(inner), headers=[JSON, (b"content-length", b"900")], chunks=[b"x" * 900])[0] == 200
    assert len(inner.read) == 900


def test_asgi_answers_text_outside_the_api(small_limits):
    status, body, _unread = run_asgi(
        BodyLimitASGI(Recorder()),
        headers=[(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", b"5000")],
        chunks=[b"x" * 5000],
        path="/c/abc/",
    )
    assert status == 413 and body == b"Isi permintaan terlalu besar."  # no Accept-Language: the site's language
