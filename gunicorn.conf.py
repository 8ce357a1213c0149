"""gunicorn settings for production: the WSGI workers behind nginx (see serving/ and README, "Serving").

Production runs `gunicorn denpasar_checkin.wsgi:application -c gunicorn.conf.py` with plain sync workers: nginx in
front buffers slow clients, so a sync worker never waits on a phone's network, and Django's request/response views
skip the async-to-sync hop an ASGI worker pays on every request. The door event streams go to a separate uvicorn
process (serving/topology.py), so no WSGI worker ever holds a stream.

Started with the ASGI application instead (`denpasar_checkin.asgi:application`, the benchmark's and the older
deployments' command), the default worker class is uvicorn's, since a sync worker cannot run an ASGI app.
GUNICORN_WORKER_CLASS and WEB_CONCURRENCY override both defaults.
"""

import multiprocessing
import os
import sys

_asgi = any(arg.endswith("asgi:application") for arg in sys.argv[1:])
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: 2 per core measured best on the 2-core machine (README, "Serving"); the ASGI default is unchanged.
workers = int(os.environ.get("WEB_CONCURRENCY") or (multiprocessing.cpu_count() * 2 + (1 if _asgi else 0)))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS") or ("uvicorn_worker.UvicornWorker" if _asgi else "sync")
threads = int(os.environ.get("GUNICORN_THREADS") or 1)  # the gthread worker's threads per worker
# A request that takes longer is stuck; its worker is killed. (Under the uvicorn worker event streams send a heartbeat
# well inside this; in production they are served by uvicorn, not here.)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# gunicorn 27's control socket is not used, and every server on the machine would share its one default path.
control_socket_disable = True
accesslog = "-"
# The access log shows paths only; NIKs travel in request bodies, never in URLs.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# Proxy headers count only from the proxies the app trusts (TRUSTED_PROXY_COUNT and TRUSTED_PROXY_IPS, read the same
# way as in settings.py). This one setting governs both worker kinds: the sync and gthread workers take
# X-Forwarded-Proto (wsgi.url_scheme) and the forwarder headers only from these peers and never touch REMOTE_ADDR;
# the uvicorn worker also replaces the client address with one from X-Forwarded-For for these peers. With no proxy,
# nobody is trusted: "*" here let any client choose its address and walk past the per-client rate limit.
# ratelimit.client_address peels a hop only off a trusted proxy's address, so the uvicorn worker's rewrite (a
# client's address) is never peeled again.
_trusted_proxies = int(os.environ.get("TRUSTED_PROXY_COUNT") or 0) > 0
forwarded_allow_ips = os.environ.get("TRUSTED_PROXY_IPS", "127.0.0.1,::1") if _trusted_proxies else ""


def post_worker_init(worker):
    """Load the URL conf (and with it every view module) now, then hide everything loaded from the collector.

    All of it lives as long as the worker, yet each full garbage collection walked it again: about 30 ms with the
    interpreter's lock held, which showed as 100 ms spikes in the check-in's p99 under load. Frozen, a full
    collection takes under a millisecond.
    """
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URL conf and every view it names
    gc.collect()
    gc.freeze()
