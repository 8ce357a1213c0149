"""Shared fixtures: factories, and skips for missing system tools that CI turns into failures."""

from __future__ import annotations

import os
import shutil

import pytest

# CI sets this so that a missing service or tool fails the run instead of skipping silently.
STRICT = os.environ.get("DC_REQUIRE_ALL", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip (newcomer's machine) or fail (CI) when a system tool or server the test needs is missing."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"required by DC_REQUIRE_ALL but missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def require_postgres(settings) -> None:
    require(
        settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test",
    )


@pytest.fixture
def require_redis(settings) -> str:
    require(bool(settings.REDIS_URL), "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    return settings.REDIS_URL


# Debian's Chromium as root on a machine with no network beyond loopback: without the background-networking
# switches it keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    require(bool(path), "needs Debian's chromium (apt-get install chromium)")
    return path


@pytest.fixture(autouse=True)
def _migration_data_for_transactional_tests(request):
    """Transactional tests flush the tables between tests, which also removes what data migrations created
    (the role groups, the default restriction level and policy); put it back so every test starts the same."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    import datetime

    from offices.roles import roles_sync
    from screening.models import RestrictionLevel, ScreeningPolicy

    roles_sync()
    if not RestrictionLevel.objects.exists():
        RestrictionLevel.objects.create(level=0, name="Tanpa pembatasan", effective_from=datetime.date(2000, 1, 1))
    ScreeningPolicy.objects.get_or_create(id=1)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Real hashers cost ~0.3 s a user; tests only need passwords to round-trip.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


# --- issue 6: sources, Celery -------------------------------------------------------------------------------------


@pytest.fixture
def loopback_server():
    """A real HTTP server on 127.0.0.1 (see tests/loopback.py); set `.responder` to decide the answers."""
    from tests.loopback import LoopbackServer

    server = LoopbackServer().start()
    yield server
    server.stop()


@pytest.fixture
def celery_eager():
    """Run queued tasks inline even when REDIS_URL configures a real broker."""
    from tests.celery_worker import eager_tasks

    with eager_tasks(True):
        yield


@pytest.fixture
def celery_broker(require_redis):
    """The real Redis broker with an empty queue, tasks not eager; no worker yet (see celery_worker)."""
    from tests.celery_worker import eager_tasks, queue_purge

    with eager_tasks(False):
        queue_purge()
        yield require_redis


@pytest.fixture
def celery_worker(celery_broker):
    """A real Celery worker thread consuming from the real Redis broker (tests/celery_worker.py)."""
    from tests.celery_worker import worker_running

    with worker_running() as worker:
        yield worker
