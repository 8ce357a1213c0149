"""ASGI entry point: production serves through uvicorn workers so long-lived event streams do not hold a worker."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "denpasar_checkin.settings")

django_application = get_asgi_application()

# Imported after setup: it reads settings. An oversize body is refused before Django's handler spools it to disk.
from denpasar_checkin.bodylimit import BodyLimitASGI  # noqa: E402

application = BodyLimitASGI(django_application)
