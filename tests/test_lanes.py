"""The WSGI application's two chains: anonymous API check-ins take the lean one, with the same answer and headers."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.test import Client

from denpasar_checkin.lanes import LEAN_SKIPS, LeanHandler, lane_is_lean, lanes_application, lean_middleware
from tests.factories import EntranceFactory, HealthStatusFactory, UserFactory, nik_make
from visitors.models import ScanEvent

# Headers a browser or a scanner reads on an API answer: both chains must send each of them, with the same value.
POLICY_HEADERS = (
    "Content-Security-Policy",
    "Permissions-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Content-Language",
    "Content-Type",
)


def wsgi_post(application, path: str, body: dict | bytes, **extra) -> tuple[int, dict[str, str], bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "SERVER_NAME": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT_LANGUAGE": "en",
        "wsgi.input": io.BytesIO(raw),
        **extra,
    }
    setup_testing_defaults(environ)
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    content = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], content


@pytest.fixture(scope="module")
def application():
    return lanes_application()


@pytest.mark.parametrize(
    ("method", "path", "extra", "lean"),
    [
        ("POST", "/api/v1/checkins/", {}, True),
        ("POST", "/api/v1/checkouts/", {"HTTP_COOKIE": "django_language=en; csrftoken=x"}, True),
        ("POST", "/api/v1/checkins/", {"HTTP_COOKIE": "csrftoken=x; sessionid=abc"}, False),
        ("POST", "/api/v1/checkins/", {"HTTP_AUTHORIZATION": "Token abc"}, False),
        ("GET", "/api/v1/checkins/", {}, False),
        ("POST", "/api/v1/scans/1/decision/", {}, False),
        ("POST", "/c/abc/", {}, False),
    ],
)
def test_only_anonymous_check_in_and_check_out_posts_are_lean(method, path, extra, lean):
    assert lane_is_lean({"REQUEST_METHOD": method, "PATH_INFO": path, **extra}) is lean


def test_the_lean_chain_is_the_full_one_without_the_session_and_user_layers():
    lean = lean_middleware(settings.MIDDLEWARE)
    assert lean == [path for path in settings.MIDDLEWARE if path not in LEAN_SKIPS]
    assert set(settings.MIDDLEWARE) >= LEAN_SKIPS, "a skipped middleware is no longer in settings.MIDDLEWARE"
    assert "denpasar_checkin.middleware.DatabaseUnavailableMiddleware" in lean
    assert "denpasar_checkin.bodylimit.BodyLimitMiddleware" in lean
    before = list(settings.MIDDLEWARE)
    LeanHandler()
    assert before == settings.MIDDLEWARE


@pytest.mark.django_db(transaction=True)
def test_both_chains_give_an_anonymous_check_in_the_same_answer_and_headers(application):
    entrance = EntranceFactory()
    for n in (1, 2):
        HealthStatusFactory(nik=nik_make(n), name="Made Wirawan", doses=2)
    body = {"entrance": entrance.code, "name": "Made Wirawan"}
    lean = wsgi_post(application, "/api/v1/checkins/", {**body, "nik": nik_make(1)})
    # A stale session cookie sends the same anonymous call down the full chain.
    full = wsgi_post(application, "/api/v1/checkins/", {**body, "nik": nik_make(2)}, HTTP_COOKIE="sessionid=stale")
    assert lean[0] == full[0] == 200
    lean_body, full_body = json.loads(lean[2]), json.loads(full[2])
    assert lean_body["outcome"] == full_body["outcome"] == "admitted"
    assert lean_body.keys() == full_body.keys() and "colour" not in lean_body
    for header in POLICY_HEADERS:
        assert lean[1].get(header) == full[1].get(header), header
    assert lean[1]["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "Set-Cookie" not in lean[1]


@pytest.mark.django_db(transaction=True)
def test_an_officer_with_a_session_takes_the_full_chain_and_sees_the_truth(application):
    entrance = EntranceFactory()
    HealthStatusFactory(nik=nik_make(3), name="Komang Ayu", doses=1)
    officer = UserFactory(roles=["Petugas"], offices=[entrance.office])
    client = Client()
    client.force_login(officer)
    session = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    csrf = "x" * 32
    status, _headers, content = wsgi_post(
        application,
        "/api/v1/checkins/",
        {"entrance": entrance.code, "nik": nik_make(3), "name": "Komang Ayu"},
        HTTP_COOKIE=f"{session}; csrftoken={csrf}",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert status == 200, content
    answer = json.loads(content)
    assert answer["outcome"] == "pending" and answer["colour"] == "yellow"


@pytest.mark.django_db(transaction=True)
def test_the_lean_chain_still_refuses_an_oversize_body(application, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    status, headers, content = wsgi_post(application, "/api/v1/checkins/", b"{" + b" " * 500 + b"}")
    assert status == 413 and headers["Content-Type"].startswith("application/json")
    assert not ScanEvent.objects.exists()


def test_a_page_keeps_the_page_policy(client):
    policy = client.get("/c/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
