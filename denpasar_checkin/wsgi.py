"""WSGI entry point (gunicorn in production, plain WSGI servers): the full and the lean handler, see lanes.py."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "denpasar_checkin.settings")

from denpasar_checkin.lanes import lanes_application  # noqa: E402 (the settings module must be named first)

application = lanes_application()
