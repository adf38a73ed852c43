"""Settings of the CAS-App backend, driven by environment variables.

Every variable is declared once in ``ENV_SCHEMA`` with its type and default; ``.env.example`` and
``docs/configuration.md`` document the same list (a test keeps the three in step). The defaults run the
service with no external services at all: SQLite, eager Celery, local-memory cache, local media files and
the console push backend. Production sets ``DJANGO_SECRET_KEY`` and ``DJANGO_ALLOWED_HOSTS`` and leaves
``DJANGO_DEBUG`` off; without them the process refuses to start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

django_stubs_ext.monkeypatch()  # lets admin.ModelAdmin[Model] and friends be subscripted at run time

BASE_DIR = Path(__file__).resolve().parent.parent

# name: (type, default). The single list of every variable this service reads.
ENV_SCHEMA: dict[str, tuple[type, Any]] = {
    "DJANGO_DEBUG": (bool, False),
    "DJANGO_SECRET_KEY": (str, ""),
    "DJANGO_ALLOWED_HOSTS": (list, []),
    "DJANGO_CSRF_TRUSTED_ORIGINS": (list, []),
    "DJANGO_SECURE_SSL_REDIRECT": (bool, True),
    "DJANGO_HSTS_SECONDS": (int, 31_536_000),
    "DJANGO_NUM_PROXIES": (int, 0),
    "DJANGO_LOG_LEVEL": (str, "INFO"),
    "DJANGO_LOG_FORMAT": (str, "json"),
    "DATABASE_URL": (str, f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
    "DATABASE_CONN_MAX_AGE": (int, 60),
    "REDIS_URL": (str, ""),
    "DJANGO_MEDIA_ROOT": (str, str(BASE_DIR / "media")),
    "DJANGO_STATIC_ROOT": (str, str(BASE_DIR / "staticfiles")),
    "MAX_REQUEST_BODY_MB": (int, 80),
    "AWS_STORAGE_BUCKET_NAME": (str, ""),
    "AWS_S3_ENDPOINT_URL": (str, ""),
    "AWS_S3_REGION_NAME": (str, "eu-central-1"),
    "AWS_ACCESS_KEY_ID": (str, ""),
    "AWS_SECRET_ACCESS_KEY": (str, ""),
    "AWS_S3_ADDRESSING_STYLE": (str, ""),
    "AWS_S3_CUSTOM_DOMAIN": (str, ""),
    "AWS_QUERYSTRING_AUTH": (bool, True),
    "AWS_QUERYSTRING_EXPIRE": (int, 3600),
    "PUSH_BACKEND": (str, "console"),
    "FIREBASE_CREDENTIALS_FILE": (str, ""),
    "FCM_API_BASE_URL": (str, ""),
    "PUSH_BATCH_SIZE": (int, 500),
    "PUSH_RATE_LIMIT_PER_MINUTE": (int, 300_000),
    "PUSH_DRAIN_CONCURRENCY": (int, 4),
    "PUSH_HTTP_CONNECTIONS": (int, 250),
    "PUSH_CLAIM_LEASE_SECONDS": (int, 300),
    "PUSH_MAX_ATTEMPTS": (int, 5),
    "PUSH_RETRY_BASE_SECONDS": (float, 2.0),
    "PUSH_CIRCUIT_BREAKER_RATIO": (float, 0.5),
    "PUSH_CIRCUIT_BREAKER_MIN_BATCH": (int, 20),
    "PUSH_STALE_AFTER_DAYS": (int, 30),
    "PUSH_PURGE_AFTER_DAYS": (int, 270),
    "THROTTLE_ANON": (str, "120/min"),
    "THROTTLE_DEVICE": (str, "600/min"),
    "THROTTLE_STAFF": (str, "3000/min"),
    "THROTTLE_DEVICE_REGISTER": (str, "100/hour"),
    "APP_CONFIG_CACHE_SECONDS": (int, 60),
    "THROTTLE_REPORT_DAY": (str, "10/day"),
    "THROTTLE_REPORT_IP": (str, "10/min"),
    "THROTTLE_OPEN311_KEY": (str, "600/hour"),
    "THROTTLE_REPORT_EXPORT": (str, "30/min"),
    "REPORT_NEARBY_METERS": (int, 50),
    "REPORT_REOPEN_DAYS": (int, 30),
    "REPORT_CONTACT_RETENTION_DAYS": (int, 90),
    "DEVICE_LAST_SEEN_RESOLUTION_MINUTES": (int, 60),
}

env = environ.Env(**ENV_SCHEMA)
environ.Env.read_env(BASE_DIR / ".env")  # optional; the process environment wins

DEBUG: bool = env("DJANGO_DEBUG")
SECRET_KEY: str = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS: list[str] = env("DJANGO_ALLOWED_HOSTS")

if DEBUG:
    SECRET_KEY = SECRET_KEY or "django-insecure-development-only-key-never-use-in-production"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost"]
else:
    if not SECRET_KEY:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "casapp",
    "push",
    "reports",
    "reports.open311",
    "waste_calendar",
]

MIDDLEWARE = [
    "casapp.middleware.RequestLogMiddleware",
    "casapp.middleware.BackingServiceMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "casapp.middleware.RequestBodyLimitMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "casapp.urls"
WSGI_APPLICATION = "casapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# An empty DATABASE_URL (as `make test` sets it) means the default, like an absent one.
DATABASES = {"default": env.db_url_config(env("DATABASE_URL") or ENV_SCHEMA["DATABASE_URL"][1])}
DATABASES["default"]["CONN_MAX_AGE"] = env("DATABASE_CONN_MAX_AGE")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while an eager task writes; the timeout rides out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time: German first, English second; stored in UTC, shown in Europe/Berlin.
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "casapp" / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# --- Static files and uploads
STATIC_URL = "static/"
STATIC_ROOT = env("DJANGO_STATIC_ROOT")
MEDIA_URL = "media/"
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT")
MAX_REQUEST_BODY_BYTES: int = env("MAX_REQUEST_BODY_MB") * 1024 * 1024

AWS_STORAGE_BUCKET_NAME: str = env("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    _addressing_style: str = env("AWS_S3_ADDRESSING_STYLE")
    if _addressing_style not in ("", "path", "virtual"):
        raise ImproperlyConfigured("AWS_S3_ADDRESSING_STYLE is path, virtual or empty (the SDK decides).")
    _s3_options: dict[str, Any] = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "region_name": env("AWS_S3_REGION_NAME"),
        "endpoint_url": env("AWS_S3_ENDPOINT_URL") or None,
        "access_key": env("AWS_ACCESS_KEY_ID") or None,
        "secret_key": env("AWS_SECRET_ACCESS_KEY") or None,
        "addressing_style": _addressing_style or None,
        # A custom domain (a CDN reading the private bucket) answers unsigned URLs: django-storages signs
        # only URLs of the bucket itself.
        "custom_domain": env("AWS_S3_CUSTOM_DOMAIN") or None,
        "querystring_auth": env("AWS_QUERYSTRING_AUTH"),
        "querystring_expire": env("AWS_QUERYSTRING_EXPIRE"),
        "default_acl": None,
        "file_overwrite": False,
    }
    _media_storage: dict[str, Any] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options}
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Cache, Celery: Redis when REDIS_URL is set, in-process otherwise.
REDIS_URL: str = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "casapp",
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Results are never read: tasks record their outcome in the database. No result backend, nothing to expire.
CELERY_RESULT_BACKEND: str | None = None
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran, so a killed worker's task is redelivered, not lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING below, as JSON
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "worker-heartbeat": {"task": "casapp.tasks.worker_heartbeat", "schedule": 60.0},
    # Scheduled sends start within a minute of their time; stalled sends (killed worker) resume.
    "push-start-due": {"task": "push.tasks.start_due_notifications", "schedule": 20.0},
    "push-resume-stalled": {"task": "push.tasks.resume_stalled_sends", "schedule": 60.0},
    "push-token-hygiene": {"task": "push.tasks.installation_hygiene", "schedule": 6 * 3600.0},
    "reports-contact-retention": {"task": "reports.tasks.erase_contact_after_retention", "schedule": 3600.0},
    # Waste reminders go out at 18:00 and 06:00 Europe/Berlin; a run outside those slots costs one query.
    "waste-reminders": {"task": "waste_calendar.tasks.send_due_reminders", "schedule": 60.0},
}

# --- Push
PUSH_BACKEND: str = env("PUSH_BACKEND")
if PUSH_BACKEND not in {"console", "firebase"}:
    raise ImproperlyConfigured("PUSH_BACKEND must be 'console' or 'firebase'.")
FIREBASE_CREDENTIALS_FILE: str = env("FIREBASE_CREDENTIALS_FILE")
if PUSH_BACKEND == "firebase" and not FIREBASE_CREDENTIALS_FILE:
    raise ImproperlyConfigured("PUSH_BACKEND=firebase needs FIREBASE_CREDENTIALS_FILE.")
# Empty in production (Google's endpoints); the fake FCM server's address in tests and benchmarks.
FCM_API_BASE_URL: str = env("FCM_API_BASE_URL")
# firebase-admin sends at most 500 messages per send_each call.
PUSH_BATCH_SIZE: int = min(env("PUSH_BATCH_SIZE"), 500)
# FCM's project quota is 600,000 messages/minute; stay well under it, shared by all workers.
PUSH_RATE_LIMIT_PER_MINUTE: int = env("PUSH_RATE_LIMIT_PER_MINUTE")
PUSH_DRAIN_CONCURRENCY: int = env("PUSH_DRAIN_CONCURRENCY")
# HTTP/1.1 connections to FCM per worker process (a batch of 500 is sent over this many at once).
PUSH_HTTP_CONNECTIONS: int = env("PUSH_HTTP_CONNECTIONS")
PUSH_CLAIM_LEASE_SECONDS: int = env("PUSH_CLAIM_LEASE_SECONDS")
PUSH_MAX_ATTEMPTS: int = env("PUSH_MAX_ATTEMPTS")
# First retry after a transient FCM error waits about this long, doubling per attempt (with jitter).
PUSH_RETRY_BASE_SECONDS: float = env("PUSH_RETRY_BASE_SECONDS")
PUSH_CIRCUIT_BREAKER_RATIO: float = env("PUSH_CIRCUIT_BREAKER_RATIO")
PUSH_CIRCUIT_BREAKER_MIN_BATCH: int = env("PUSH_CIRCUIT_BREAKER_MIN_BATCH")
PUSH_STALE_AFTER_DAYS: int = env("PUSH_STALE_AFTER_DAYS")
PUSH_PURGE_AFTER_DAYS: int = env("PUSH_PURGE_AFTER_DAYS")

# --- API
REST_FRAMEWORK = {
    # Device first: its WWW-Authenticate header makes missing credentials a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "push.authentication.DeviceAuthentication",
        "casapp.authentication.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["casapp.api.permissions.IsDeviceOrStaff"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "casapp.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["casapp.api.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON"),
        "device": env("THROTTLE_DEVICE"),
        "staff": env("THROTTLE_STAFF"),
        "device_register": env("THROTTLE_DEVICE_REGISTER"),
        "report_day": env("THROTTLE_REPORT_DAY"),
        "report_ip": env("THROTTLE_REPORT_IP"),
        "open311_key": env("THROTTLE_OPEN311_KEY"),
        "report_export": env("THROTTLE_REPORT_EXPORT"),
    },
    # 0 means "use the peer address": without a trusted proxy, X-Forwarded-For is the client's word.
    "NUM_PROXIES": env("DJANGO_NUM_PROXIES"),
    "EXCEPTION_HANDLER": "casapp.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CAS-App API",
    "DESCRIPTION": (
        "Backend of the CAS-App of the city of Castrop-Rauxel: app installations and push, "
        "Mängelmelder, Abfallkalender. Every error has one shape: see the `Error` schema."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "casapp.api.schema.add_error_responses",
    ],
}

APP_CONFIG_CACHE_SECONDS: int = env("APP_CONFIG_CACHE_SECONDS")
# Mängelmelder: "is it already reported?" radius, the reporter's reopen window, contact data retention.
REPORT_NEARBY_METERS: int = env("REPORT_NEARBY_METERS")
REPORT_REOPEN_DAYS: int = env("REPORT_REOPEN_DAYS")
REPORT_CONTACT_RETENTION_DAYS: int = env("REPORT_CONTACT_RETENTION_DAYS")
DEVICE_LAST_SEEN_RESOLUTION_MINUTES: int = env("DEVICE_LAST_SEEN_RESOLUTION_MINUTES")

# --- Security. Behind the city's TLS-terminating proxy; only HTTPS reaches users.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS: list[str] = env("DJANGO_CSRF_TRUSTED_ORIGINS")
SECURE_SSL_REDIRECT = env("DJANGO_SECURE_SSL_REDIRECT") and not DEBUG
# Health probes come from the orchestrator over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env("DJANGO_NUM_PROXIES") else None
SECURE_HSTS_SECONDS = 0 if DEBUG else env("DJANGO_HSTS_SECONDS")
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Messages live in the session (database), never in a cookie: the admin shows new API keys through them.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Logging: one JSON object per line on stdout; the request id is on every record.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "casapp.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("DJANGO_LOG_FORMAT"),
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL")},
    "loggers": {
        # Our request log replaces Django's own per-request lines (which would log query strings).
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        # Scanners probing with foreign Host headers: one line, not a traceback at ERROR.
        "django.security.DisallowedHost": {"level": "CRITICAL"},
    },
}
