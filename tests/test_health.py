"""Liveness and readiness probes."""

import pytest
from django.core.cache import caches


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: any database access here would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] is True


@pytest.mark.django_db
def test_readyz_reports_unreachable_redis(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "denpasar_checkin.redis_pool.SharedRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    caches._settings = None  # noqa: SLF001 - let the cache handler see the overridden setting
    try:
        response = client.get("/readyz")
    finally:
        caches._settings = None
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "redis": False}


@pytest.mark.django_db
def test_readyz_with_real_redis(client, require_redis):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] is True
