"""A real Celery worker (a thread consuming from the real Redis broker) for tests that must not run tasks eagerly."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from django.db import connections

from denpasar_checkin.celery import app


@contextmanager
def eager_tasks(enabled: bool) -> Iterator[None]:
    """Run queued tasks inline (True) or send them to the broker (False) for the duration."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = enabled
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point the producer side at another broker URL (e.g. an unreachable one), with fresh connection pools."""
    previous = app.conf.broker_url
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_url = previous
        app._pool = None
        app.amqp._producer_pool = None


def queue_purge() -> int:
    """Drop messages left by earlier tests (tasks queued by code under test when no worker was running)."""
    return app.control.purge()


def queue_length(queue: str = "celery") -> int:
    with app.connection_for_write() as conn:
        return conn.default_channel.client.llen(queue)


def queue_bodies(queue: str = "celery") -> list[bytes]:
    """Raw messages waiting in the Redis list, to check what a task message carries."""
    with app.connection_for_write() as conn:
        return conn.default_channel.client.lrange(queue, 0, -1)


@contextmanager
def worker_running() -> Iterator[object]:
    """Start a worker thread on the configured broker (solo pool), stop it afterwards.

    Callers need transactional tests (`django_db(transaction=True)`): the worker thread has its own database
    connection, so it sees only committed data. Celery's Django fixup closes that connection after each task.
    """
    import reports.tasks  # noqa: F401
    import screening.tasks  # noqa: F401 - register the tasks before the worker starts
    import visitors.tasks  # noqa: F401

    with (
        eager_tasks(False),
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING") as worker,
    ):
        yield worker
    connections.close_all()


def wait_for(predicate: Callable[[], object], *, timeout: float = 20.0, interval: float = 0.1) -> object:
    """Poll until `predicate()` is truthy (and return it), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
