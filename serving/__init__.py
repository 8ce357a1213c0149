"""How production serves the app: nginx in front of gunicorn (WSGI) and uvicorn (ASGI streams). See topology.py.

Not a Django app and imports none: it only starts processes.
"""
