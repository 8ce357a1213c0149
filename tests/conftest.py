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


@pytest.fixture
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    require(bool(path), "needs Debian's chromium (apt-get install chromium)")
    return path


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Real hashers cost ~0.3 s a user; tests only need passwords to round-trip.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
