"""WSGI entry point (management tools and plain WSGI servers)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "denpasar_checkin.settings")

application = get_wsgi_application()
