"""Django settings: every environment variable is read here, once, with safe defaults for the embedded mode."""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _secret(name: str, *, dev_default: str | None = None) -> str:
    """A secret from NAME or from the file named by NAME_FILE (Docker secrets); in production it must be set."""
    file_var = os.environ.get(f"{name}_FILE")
    if file_var:
        return Path(file_var).read_text(encoding="utf-8").strip()
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if DEBUG and dev_default is not None:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} must be set when DEBUG is off (or give {name}_FILE). See README.md, 'Settings'."
    )


# The embedded mode (no DATABASE_URL and no REDIS_URL: a developer's laptop) defaults to DEBUG on; anything
# wired to real servers defaults to production hardening, and docker-compose says DEBUG=false outright.
EMBEDDED = not (os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"))
DEBUG = env.bool("DEBUG", default=EMBEDDED)

# Development-only keys: usable only with DEBUG on, so a production process without real secrets refuses to start.
SECRET_KEY = _secret("SECRET_KEY", dev_default="dev-insecure-secret-key-do-not-use-in-production-0123456789")
NIK_HASH_KEY = _secret("NIK_HASH_KEY", dev_default="1:dev-insecure-nik-hash-key")
FIELD_ENCRYPTION_KEY = _secret(
    # A valid Fernet key (32 zero bytes, base64): fine for a laptop, refused in production by _secret above.
    "FIELD_ENCRYPTION_KEY",
    dev_default="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "offices",
    "screening",
    "visitors",
    "door",
    "reports",
]

MIDDLEWARE = [
    # First: an oversize body is refused (413) before anything below reads it.
    "denpasar_checkin.bodylimit.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "denpasar_checkin.middleware.ContentSecurityPolicyMiddleware",
    "denpasar_checkin.middleware.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "offices.two_factor.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a login refused by the throttle into the lockout page (axes wants it late in the chain).
    "axes.middleware.AxesMiddleware",
    # Nearest the view: a database that cannot answer becomes a 503 before any other middleware sees the error.
    "denpasar_checkin.middleware.DatabaseUnavailableMiddleware",
    # Last, so every middleware above runs in one thread under ASGI instead of hopping threads per step.
    "denpasar_checkin.middleware.SyncOnlyMiddleware",
]

ROOT_URLCONF = "denpasar_checkin.urls"
WSGI_APPLICATION = "denpasar_checkin.wsgi.application"
ASGI_APPLICATION = "denpasar_checkin.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: PostgreSQL from DATABASE_URL; without it, SQLite in WAL mode with immediate transactions so that
# concurrent writers queue on the write lock instead of failing half-way through a check-in.
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI every request runs in a fresh thread, so per-thread persistent connections pile up until
        # PostgreSQL refuses new clients; a per-process pool (psycopg 3) reuses them.
        DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=8)
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        # The check-in's two hot statements are prepared once per connection (denpasar_checkin.sql), which saves
        # PostgreSQL most of their cost (planning). Turn off behind a pooler that cannot keep prepared
        # statements (PgBouncer in transaction mode before 1.21). Django's own queries are never prepared.
        # Without the pool every request opens its own connection, where preparing would only add a round trip.
        DB_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True) and DB_POOL_MAX_SIZE > 0
        if DB_PREPARED_STATEMENTS:
            DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0
        # A returning person's plain admission as one statement (gate, visit, scan event) instead of a
        # transaction; off only to measure what it buys (the admission is the same either way).
        ADMISSION_ONE_STATEMENT = env.bool("ADMISSION_ONE_STATEMENT", default=True)
        if DB_POOL_MAX_SIZE > 0:
            DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
                "min_size": 1,
                "max_size": DB_POOL_MAX_SIZE,
                "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
            }
else:
    SQLITE_PATH = Path(env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache and Celery: Redis from REDIS_URL; without it, the local-memory cache and eager Celery (embedded mode).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache with one connection pool and one client per process (see redis_pool.py).
            "BACKEND": "denpasar_checkin.redis_pool.SharedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="dc"),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "denpasar-checkin"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "Asia/Makassar"
CELERY_TASK_ACKS_LATE = True
# Where beat keeps its last-run times (docker-compose.yml and serving/topology.py run beat without --schedule).
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default="/tmp/celerybeat-schedule")  # noqa: S108
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Redis caveat: an unacknowledged task is redelivered after the visibility timeout, so it must exceed
# the longest task and any ETA we schedule (auto check-out runs at most a day ahead).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True

SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Makassar"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "admin:login"

# Accounts (README, "Accounts"): admin and officer logins are throttled per username and address, and the roles
# named below sign in with a second factor (TOTP) whenever DEBUG is off.
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username+address pair is refused before any password is checked.
    "offices.logins.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
# The pair, not the account: a guesser elsewhere cannot lock an officer out of their own door.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The address the rate limits use, so TRUSTED_PROXY_COUNT decides here too.
AXES_CLIENT_IP_CALLABLE = "denpasar_checkin.ratelimit.client_ip"  # client_address, or None when not an IP
AXES_LOCKOUT_CALLABLE = "offices.logins.lockout_response"
# A lockout lasts its cool-off from the failure that caused it; refused tries during it do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# Only failures are kept (what the throttle needs); successful logins are in the user's last_login already.
AXES_DISABLE_ACCESS_LOG = True
REQUIRE_2FA_GROUPS = env.list("REQUIRE_2FA_GROUPS", default=["Satgas", "Admin Kota"])
# Not an environment switch: production (DEBUG off) always asks, `make run` (DEBUG on) never does.
TWO_FACTOR_REQUIRED = not DEBUG
OTP_TOTP_ISSUER = "Denpasar Check-in"

# Browser policy. Scripts only from our own origin: no inline scripts, no eval. Inline styles stay allowed (the
# reports' charts, the door gauge, Django's admin widgets and Swagger UI set style attributes; styles run no code).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        # The phone pages' service worker and web-app manifest (denpasar_checkin/pwa.py), both from our origin.
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# No page of ours uses these browser features (phones scan posters with their own camera app).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), serial=(), usb=()"
)

# Domain settings.
# seed_demo creates users with printed passwords: allowed by default only in development.
DEMO_SEED_ALLOWED = env.bool("DEMO_SEED_ALLOWED", default=DEBUG)
RETENTION_DAYS = env.int("RETENTION_DAYS", default=30)
STATUS_RETENTION_DAYS = env.int("STATUS_RETENTION_DAYS", default=14)
STATUS_SOURCE = env.str("STATUS_SOURCE", default="registry")
if STATUS_SOURCE not in ("registry", "http"):
    raise ImproperlyConfigured("STATUS_SOURCE must be 'registry' or 'http'.")
STATUS_SOURCE_URL = env.str("STATUS_SOURCE_URL", default="")
STATUS_SOURCE_TOKEN = env.str("STATUS_SOURCE_TOKEN", default="")
if STATUS_SOURCE == "http" and not STATUS_SOURCE_URL:
    raise ImproperlyConfigured("STATUS_SOURCE=http needs STATUS_SOURCE_URL.")
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True)
RATE_LIMIT_CLIENT = env.str("RATE_LIMIT_CLIENT", default="300/m")
RATE_LIMIT_NIK = env.str("RATE_LIMIT_NIK", default="10/m")
RATE_LIMIT_OFFICER = env.str("RATE_LIMIT_OFFICER", default="120/m")
# Door-screen event streams: reconnect after this long (proxies cut idle streams), heartbeat comment interval.
DOOR_STREAM_MAX_SECONDS = env.float("DOOR_STREAM_MAX_SECONDS", default=300)
DOOR_STREAM_HEARTBEAT_SECONDS = env.float("DOOR_STREAM_HEARTBEAT_SECONDS", default=15)
DOOR_STREAM_POLL_SECONDS = env.float("DOOR_STREAM_POLL_SECONDS", default=0.5)
DOOR_STREAM_STATE_SECONDS = env.float("DOOR_STREAM_STATE_SECONDS", default=5)
DOOR_STREAM_RETRY_MS = env.int("DOOR_STREAM_RETRY_MS", default=1000)
# How many reverse proxies add X-Forwarded-For in front of the app (0: trust only the socket address), and where
# they connect from: a hop is taken from the header only while the address in hand is one of these (IPs or
# networks; "*" for any, only when nothing but the proxies can reach the app). gunicorn.conf.py reads the same two.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXY_IPS = [
    entry.strip() for entry in env.list("TRUSTED_PROXY_IPS", default=["127.0.0.1", "::1"]) if entry.strip()
]
for _proxy in TRUSTED_PROXY_IPS:
    try:
        if _proxy != "*":
            ipaddress.ip_network(_proxy)
    except ValueError:
        raise ImproperlyConfigured(f"TRUSTED_PROXY_IPS: {_proxy!r} is not an IP address or network.") from None
# Request bodies: JSON and form fields up to DATA_UPLOAD_MAX_MEMORY_SIZE (the bulk health-status API takes 10 MB),
# any body, file uploads included, up to REQUEST_BODY_MAX_BYTES (the admin's 50 MB CSV upload). Past either the
# answer is 413 before the body is read (denpasar_checkin.bodylimit), under every server.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=64 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every API error is JSON ({"detail", "code"} or {"field": [messages]}), including the domain's own errors.
    "EXCEPTION_HANDLER": "visitors.api.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "denpasar_checkin.negotiation.SingleRendererNegotiation",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Denpasar Check-in API",
    "DESCRIPTION": "Check-in, occupancy and health-status API of Denpasar Check-in.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package: /api/docs/ loads nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="checkin@denpasarkota.go.id")

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # axes: its warnings (failed logins, lockouts) without the banner every process start prints at INFO.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}

# Production hardening: DEBUG off means HTTPS behind a proxy that sets X-Forwarded-Proto.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Health probes come from the orchestrator over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Health-status sources, alerts and the periodic work. The beat schedule itself is in celery.py.
# The upstream source is asked inline only on a registry miss, and never for longer than this (seconds).
STATUS_SOURCE_TIMEOUT = env.float("STATUS_SOURCE_TIMEOUT", default=1.0)
# Background refresh only: attempts per person, with exponential backoff starting at this many seconds.
STATUS_SOURCE_RETRIES = env.int("STATUS_SOURCE_RETRIES", default=3)
STATUS_SOURCE_BACKOFF = env.float("STATUS_SOURCE_BACKOFF", default=0.5)
# Circuit breaker (state in the shared cache, so every process sees it): this many failures in a row open it for
# the cool-down, during which nobody waits on the upstream service; then one probe decides.
STATUS_SOURCE_BREAKER_THRESHOLD = env.int("STATUS_SOURCE_BREAKER_THRESHOLD", default=5)
STATUS_SOURCE_BREAKER_COOLDOWN = env.float("STATUS_SOURCE_BREAKER_COOLDOWN", default=30.0)
# Whose statuses Celery keeps warm: active staff and everyone who scanned in the last this many days.
STATUS_REFRESH_SEEN_DAYS = env.int("STATUS_REFRESH_SEEN_DAYS", default=14)
# Forgotten visits close at the office's closing time plus the grace, or after the maximum stay, whichever is first.
MAX_STAY_HOURS = env.int("MAX_STAY_HOURS", default=12)
AUTO_CHECKOUT_GRACE_MINUTES = env.int("AUTO_CHECKOUT_GRACE_MINUTES", default=60)
# A pending case nobody answered within this many minutes leaves the door queue and the visitor scans again: by then
# the person has usually gone. Fractions are allowed (tests use seconds).
PENDING_EXPIRE_MINUTES = env.float("PENDING_EXPIRE_MINUTES", default=15)
if PENDING_EXPIRE_MINUTES <= 0:
    raise ImproperlyConfigured("PENDING_EXPIRE_MINUTES must be more than 0.")
# Where black-status alerts go besides the door screen: e-mail (Django's mail settings) and an optional webhook.
SATGAS_ALERT_EMAILS = env.list("SATGAS_ALERT_EMAILS", default=[])
ALERT_WEBHOOK_URL = env.str("ALERT_WEBHOOK_URL", default="")
ALERT_WEBHOOK_TOKEN = env.str("ALERT_WEBHOOK_TOKEN", default="")  # sent as a bearer token when set
ALERT_WEBHOOK_TIMEOUT = env.float("ALERT_WEBHOOK_TIMEOUT", default=5.0)
# The city's WhatsApp/SMS gateway: each exposure notice to a contact with a phone is POSTed here (no NIK, no case).
NOTIFY_WEBHOOK_URL = env.str("NOTIFY_WEBHOOK_URL", default="")
NOTIFY_WEBHOOK_TOKEN = env.str("NOTIFY_WEBHOOK_TOKEN", default="")  # sent as a bearer token when set
# Celery's Redis caveats: keep retrying the broker at start-up (the web container may start before Redis) and
# fail fast when queueing from a web request while Redis is unreachable.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("socket_connect_timeout", 1)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
