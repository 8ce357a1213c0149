"""gunicorn.conf.py: a worker loads the whole app up front and keeps it out of the garbage collector's way."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.test_settings import ROOT

_PROBE = """
import gc, runpy, sys
import django
django.setup()
conf = runpy.run_path("gunicorn.conf.py")
assert "visitors.api" not in sys.modules
conf["post_worker_init"](None)
print(gc.get_freeze_count(), "visitors.api" in sys.modules, len(gc.get_objects()))
"""


def test_worker_init_loads_the_views_and_freezes_them_out_of_collections():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "denpasar_checkin.settings", "DEBUG": "true"}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    frozen, views_loaded, still_tracked = (int(value) if value.isdigit() else value for value in result.stdout.split())
    assert views_loaded == "True"
    # Django, DRF and the apps are frozen; a full collection walks only what is left (its time is in make bench).
    assert frozen > 50_000
    assert still_tracked < frozen / 20
