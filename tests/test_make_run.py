"""`make run PORT=...` without SITE_URL: what it prints, and the QR on its posters, point at the port it serves."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from tests.conftest import require
from tests.test_settings import ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, log_path, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"make run did not answer {url}:\n{log_path.read_text()[-3000:]}")


def _admin_session(base: str, username: str, password: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = f"{base}/admin/login/?next=/admin/"
    page = opener.open(login, timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    request = urllib.request.Request(login, data=body.encode(), headers={"Referer": login, "Origin": base})  # noqa: S310
    landed = opener.open(request, timeout=10)
    assert landed.url.endswith("/admin/"), f"admin login failed: {landed.url}"
    return opener


def test_make_run_on_another_port_prints_and_encodes_that_port(tmp_path):
    require(shutil.which("make") is not None, "needs make")
    require(shutil.which("zbarimg") is not None, "needs zbarimg (apt-get install zbar-tools)")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "CSRF_TRUSTED_ORIGINS", "REDIS_URL")}
    # A database of its own (a fresh SQLite file), so the demo data and its passwords are printed by this run.
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/db.sqlite3"
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log_path = tmp_path / "make-run.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(  # noqa: S603
            ["make", "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(f"{base}/healthz", log_path)
        printed = log_path.read_text()
        urls = re.findall(r"https?://[^\s/]+/c/[^\s]+", printed)
        assert urls, printed
        assert all(url.startswith(f"{base}/c/") for url in urls), urls
        assert f"serving on {base}/" in printed
        password = re.search(r"^\s+admin\s+password: (\S+)", printed, re.MULTILINE).group(1)
        opener = _admin_session(base, "admin", password)
        poster = tmp_path / "poster.png"
        poster.write_bytes(opener.open(f"{base}/offices/entrances/1/poster.png", timeout=30).read())
        decoded = subprocess.run(  # noqa: S603
            ["zbarimg", "--raw", "-q", str(poster)],
            capture_output=True,
            text=True,
            check=True,  # noqa: S607
        ).stdout.split()
        assert decoded and decoded[0].startswith(f"{base}/c/"), decoded
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
