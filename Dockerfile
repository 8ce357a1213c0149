# Production image: the Django app. By default gunicorn with WSGI sync workers (compose's `web`); the same image runs
# the event streams under uvicorn (`streams`), Celery and the migrations. nginx in front: see docker-compose.yml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings but no real secrets; these throwaway values never reach a running container.
RUN DEBUG=false SECRET_KEY=build NIK_HASH_KEY=1:build FIELD_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --noinput \
    && python manage.py compilemessages --ignore=.venv >/dev/null \
    && useradd --system --uid 1000 --home /app app \
    && chown -R app /app

USER app
EXPOSE 8000 8001
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
    CMD python -c "import os,sys,urllib.request as u; h=os.environ.get('ALLOWED_HOSTS','localhost').split(',')[0]; r=u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}); sys.exit(u.urlopen(r, timeout=2).status != 200)"
CMD ["gunicorn", "denpasar_checkin.wsgi:application", "-c", "gunicorn.conf.py"]
