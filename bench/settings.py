"""Benchmark-only settings: the production settings, plus the bare and floor endpoints of bench.urls."""

from denpasar_checkin.settings import *  # noqa: F403

# The benchmark endpoints exist only here: no deployment loads this module.
ROOT_URLCONF = "bench.urls"
