"""One client address: X-Forwarded-For counts only from trusted proxies, as far as TRUSTED_PROXY_COUNT says.

The same rule in gunicorn.conf.py (forwarded_allow_ips, which the uvicorn worker also uses to rewrite the client
address) and in ratelimit.client_address, without peeling a hop twice. The real server is in test_serving.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import RequestFactory

from denpasar_checkin.ratelimit import client_address, client_ip
from tests.test_settings import ROOT


def request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.fixture
def one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_IPS = ["127.0.0.1", "::1"]
    return settings


def test_without_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request("198.51.100.9", "203.0.113.7")) == "198.51.100.9"


def test_behind_one_proxy_the_address_is_the_one_the_proxy_saw(one_proxy):
    # The client wrote the first entry itself; the proxy appended the address it saw.
    assert client_address(request("127.0.0.1", "10.9.9.9, 203.0.113.7")) == "203.0.113.7"
    assert client_address(request("::1", "203.0.113.7")) == "203.0.113.7"


def test_a_client_reaching_the_server_directly_cannot_choose_its_address(one_proxy):
    assert client_address(request("198.51.100.9", "203.0.113.7")) == "198.51.100.9"


def test_an_address_the_server_already_took_from_the_header_is_not_peeled_again(one_proxy):
    # The uvicorn worker trusted the proxy and put the client's address in REMOTE_ADDR; the header is unchanged.
    assert client_address(request("203.0.113.7", "10.9.9.9, 203.0.113.7")) == "203.0.113.7"


def test_a_chain_of_proxies_is_peeled_at_most_count_hops(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    settings.TRUSTED_PROXY_IPS = ["10.0.0.0/24"]
    assert client_address(request("10.0.0.2", "6.6.6.6, 203.0.113.7, 10.0.0.1")) == "203.0.113.7"
    # Only one proxy in front this time: the client's own address stops the peeling.
    assert client_address(request("10.0.0.2", "6.6.6.6, 203.0.113.7")) == "203.0.113.7"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request("10.0.0.2", "6.6.6.6, 203.0.113.7, 10.0.0.1")) == "10.0.0.1"


def test_any_peer_with_a_star(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_IPS = ["*"]
    assert client_address(request("172.18.0.5", "6.6.6.6, 203.0.113.7")) == "203.0.113.7"


def test_ports_and_brackets_are_dropped(one_proxy):
    assert client_address(request("127.0.0.1", "203.0.113.7:5123")) == "203.0.113.7"
    assert client_address(request("127.0.0.1", "[2001:db8::7]:443")) == "2001:db8::7"
    assert client_address(request("127.0.0.1", "2001:db8::7")) == "2001:db8::7"


def test_a_missing_header_leaves_the_proxy_address(one_proxy):
    assert client_address(request("127.0.0.1")) == "127.0.0.1"


def test_client_ip_is_none_when_there_is_no_ip_address(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request("203.0.113.7")) == "203.0.113.7"
    assert client_ip(request("")) is None


_CONF = """
import json, runpy
conf = runpy.run_path("gunicorn.conf.py")
print(json.dumps(conf["forwarded_allow_ips"]))
"""


def _forwarded_allow_ips(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("TRUSTED_PROXY_COUNT", "TRUSTED_PROXY_IPS")}
    result = subprocess.run(
        [sys.executable, "-c", _CONF], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().strip('"')


def test_gunicorn_trusts_no_proxy_headers_by_default():
    # Before: "*", so the uvicorn worker took any client's X-Forwarded-For as its address.
    assert _forwarded_allow_ips() == ""
    assert _forwarded_allow_ips(TRUSTED_PROXY_COUNT="0", TRUSTED_PROXY_IPS="*") == ""


def test_gunicorn_trusts_the_configured_proxies_when_there_are_some():
    assert _forwarded_allow_ips(TRUSTED_PROXY_COUNT="1") == "127.0.0.1,::1"
    assert _forwarded_allow_ips(TRUSTED_PROXY_COUNT="2", TRUSTED_PROXY_IPS="10.0.0.0/24") == "10.0.0.0/24"


def test_gunicorn_accepts_the_empty_list():
    """gunicorn parses forwarded_allow_ips "" to an empty list: no peer is trusted, by either worker kind."""
    from gunicorn.config import Config

    config = Config()
    config.set("forwarded_allow_ips", "")
    assert config.forwarded_allow_ips == []
