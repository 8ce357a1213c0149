"""ASGI entry point: production serves through uvicorn workers so long-lived event streams do not hold a worker."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "denpasar_checkin.settings")

application = get_asgi_application()
