"""Settings of the CAS-App backend, driven by environment variables.

Every variable is declared once in ``ENV_SCHEMA`` with its type and default; ``.env.example`` and
``docs/configuration.md`` document the same list (a test keeps the three in step). The defaults run the
service with no external services at all: SQLite, eager Celery, local-memory cache, local media files and
the console push backend. Production sets ``DJANGO_SECRET_KEY`` and ``DJANGO_ALLOWED_HOSTS`` and leaves
``DJANGO_DEBUG`` off; without them the process refuses to start.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
    "PUSH_CITY_PHONE_PREFIXES": (list, ["02305 106"]),
    "PUSH_CITY_EMAIL_DOMAINS": (list, ["castrop-rauxel.de"]),
    "PUSH_CAMPAIGN_MIN_AUDIENCE": (int, 50),
    "THROTTLE_ANON": (str, "120/min"),
    "THROTTLE_DEVICE": (str, "600/min"),
    "THROTTLE_STAFF": (str, "3000/min"),
    "THROTTLE_DEVICE_REGISTER": (str, "100/hour"),
    "THROTTLE_DEVICE_PAIR": (str, "10/hour"),
    "THROTTLE_CAMPAIGN_SUBMISSION_DAY": (str, "20/day"),
    "THROTTLE_CAMPAIGN_SUBMISSION_IP": (str, "10/min"),
    "APP_CONFIG_CACHE_SECONDS": (int, 60),
    "THROTTLE_REPORT_DAY": (str, "10/day"),
    "THROTTLE_REPORT_IP": (str, "10/min"),
    "THROTTLE_OPEN311_KEY": (str, "600/hour"),
    "OPEN311_MEDIA_FETCH_HOSTS": (list, []),
    "THROTTLE_REPORT_EXPORT": (str, "30/min"),
    "REPORT_NEARBY_METERS": (int, 50),
    "REPORT_REOPEN_DAYS": (int, 30),
    "REPORT_CONTACT_RETENTION_DAYS": (int, 90),
    "DEVICE_LAST_SEEN_RESOLUTION_MINUTES": (int, 60),
    "LOGIN_FAILURE_LIMIT": (int, 5),
    "LOGIN_ADDRESS_FAILURE_LIMIT": (int, 30),
    "LOGIN_LOCKOUT_MINUTES": (int, 15),
    "MAP_TILE_URL": (str, "https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
    "MAP_TILE_ATTRIBUTION": (
        str,
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>-Mitwirkende',
    ),
    "SCREEN_FRAME_ANCESTORS": (list, []),
    "WASTE_IMPORT_REVIEW_SHARE": (float, 0.1),
    "METRICS_TOKEN": (str, ""),
    "METRICS_ALLOWED_NETWORKS": (list, []),
    "PROMETHEUS_MULTIPROC_DIR": (str, ""),
    "EMAIL_URL": (str, ""),
    "EMAIL_PASSWORD_FILE": (str, ""),
    "EMAIL_BACKEND": (str, ""),
    "EMAIL_TIMEOUT": (int, 10),
    "DEFAULT_FROM_EMAIL": (str, "CAS-App Mängelmelder <noreply@castrop-rauxel.de>"),
    "WORKSPACE_BASE_URL": (str, "http://127.0.0.1:8000"),
    "ALERT_RETRY_BASE_SECONDS": (int, 30),
    "ALERT_MAX_RETRIES": (int, 8),
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
    "casapp.login_attempts.LoginAttemptsConfig",  # django-axes
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
    "casapp.csp.ContentSecurityPolicyMiddleware",
    "casapp.middleware.RequestBodyLimitMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before anything reads the query string; after LocaleMiddleware: the refusal is in the client's language.
    "casapp.middleware.QueryParameterLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    # After CommonMiddleware: API paths with or without their trailing slash are served, never redirected.
    "casapp.middleware.TrailingSlashMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After authentication: a staff member on a temporary password sets their own first.
    "casapp.middleware.TemporaryPasswordMiddleware",
    # Last, as django-axes requires: answers a locked-out login with its page.
    "axes.middleware.AxesMiddleware",
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

# Failed staff logins are throttled by django-axes, per user name and (with a higher limit, since a city hall
# shares one address) per address: guessing one account's password from many addresses, and many accounts'
# from one address, are both stopped.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT: int = env("LOGIN_FAILURE_LIMIT")
AXES_COOLOFF_TIME = timedelta(minutes=env("LOGIN_LOCKOUT_MINUTES"))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # this order: casapp.staff.StaffLoginHandler reads it
AXES_HANDLER = "casapp.staff.StaffLoginHandler"
LOGIN_ADDRESS_FAILURE_LIMIT: int = env("LOGIN_ADDRESS_FAILURE_LIMIT")
# Failures count until the lock expires: a colleague's successful login from the same address must not
# clear the attempts against another account.
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False  # no start-up banner in every process; failures and lockouts are still logged
AXES_LOCKOUT_CALLABLE = "casapp.staff.login_locked_response"
# The client address as the API's rate limits see it (DJANGO_NUM_PROXIES trusted X-Forwarded-For entries).
AXES_CLIENT_IP_CALLABLE = "casapp.staff.login_client_ip"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time: German first, English second; stored in UTC, shown in Europe/Berlin.
LANGUAGE_CODE = "de"
# Turkish for citizens only (casapp/languages.py): staff texts asked for in Turkish are German.
LANGUAGES = [("de", _("German")), ("en", _("English")), ("tr", _("Turkish"))]
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
    # Staff alerts: digests are due at each full hour and at 7:30 Berlin on working days; a run records
    # each member's window once, so running every few minutes only catches up after an outage.
    "reports-hourly-digests": {"task": "reports.tasks.queue_hourly_digests", "schedule": 300.0},
    "reports-daily-digests": {"task": "reports.tasks.queue_daily_digests", "schedule": 300.0},
    "reports-resend-alerts": {"task": "reports.tasks.resend_pending_intake_alerts", "schedule": 600.0},
    "push-resend-workflow-mails": {"task": "push.tasks.resend_pending_workflow_mails", "schedule": 600.0},
}

# --- E-mail (alerts to the staff about new reports). EMAIL_URL as django-environ reads it, e.g.
# smtp+tls://user@mail.example.org:587; without it mails are written to the log (console backend), which is
# what `make run` wants. Tests get Django's local-memory outbox from the test runner.
EMAIL_URL: str = env("EMAIL_URL")
_email: dict[str, Any] = (
    env.email_url_config(EMAIL_URL)
    if EMAIL_URL
    else {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
)
EMAIL_BACKEND: str = env("EMAIL_BACKEND") or _email["EMAIL_BACKEND"]
EMAIL_HOST: str = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT: int = int(_email.get("EMAIL_PORT") or 25)
EMAIL_HOST_USER: str = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD: str = _email.get("EMAIL_HOST_PASSWORD") or ""
if env("EMAIL_PASSWORD_FILE"):
    # A mounted secret; no URL-encoding of special characters needed either.
    EMAIL_HOST_PASSWORD = Path(env("EMAIL_PASSWORD_FILE")).read_text(encoding="utf-8").strip()
EMAIL_USE_TLS: bool = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL: bool = bool(_email.get("EMAIL_USE_SSL", False))
# A hanging mail server must not hold a worker for long: the task retries later.
EMAIL_TIMEOUT: int = env("EMAIL_TIMEOUT")
DEFAULT_FROM_EMAIL: str = env("DEFAULT_FROM_EMAIL")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Absolute links in e-mails point into the workspace here.
WORKSPACE_BASE_URL: str = env("WORKSPACE_BASE_URL")
# A refused alert is retried after ~30 s, 1, 2, 4 ... minutes (ALERT_MAX_RETRIES times, about two hours in
# all); what is still unsent then is resent by the sweep every ten minutes, for two days.
ALERT_RETRY_BASE_SECONDS: int = env("ALERT_RETRY_BASE_SECONDS")
ALERT_MAX_RETRIES: int = env("ALERT_MAX_RETRIES")

# --- Open311: a partner's media_url links are fetched (by a worker) only from these hosts (exact names,
# or ".example.org" for its subdomains); empty: never, the links stay links (docs/open311.md).
OPEN311_MEDIA_FETCH_HOSTS: list[str] = [
    host.strip().lower() for host in env("OPEN311_MEDIA_FETCH_HOSTS") if host
]
OPEN311_MEDIA_FETCH_SECONDS = 20  # a whole fetch, redirects included
OPEN311_MEDIA_FETCH_MAX_REDIRECTS = 3
# Tests only, never from the environment: lets the fetch reach a test server on loopback. Every other
# non-public address stays refused.
OPEN311_MEDIA_FETCH_ALLOW_LOOPBACK = False

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
# The city's own contact points, allowed in notification texts (other phone numbers and addresses are not).
PUSH_CITY_PHONE_PREFIXES: list[str] = env("PUSH_CITY_PHONE_PREFIXES")
PUSH_CITY_EMAIL_DOMAINS: list[str] = env("PUSH_CITY_EMAIL_DOMAINS")
# A campaign that would reach fewer installations than this is shown with a warning (zero is refused).
PUSH_CAMPAIGN_MIN_AUDIENCE: int = env("PUSH_CAMPAIGN_MIN_AUDIENCE")

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
    "DEFAULT_PARSER_CLASSES": ["casapp.api.parsers.BoundedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "casapp.api.negotiation.ContentNegotiation",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "casapp.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["casapp.api.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON"),
        "device": env("THROTTLE_DEVICE"),
        "staff": env("THROTTLE_STAFF"),
        "device_register": env("THROTTLE_DEVICE_REGISTER"),
        "device_pair": env("THROTTLE_DEVICE_PAIR"),
        "campaign_submission_day": env("THROTTLE_CAMPAIGN_SUBMISSION_DAY"),
        "campaign_submission_ip": env("THROTTLE_CAMPAIGN_SUBMISSION_IP"),
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
    "ENUM_NAME_OVERRIDES": {
        # Fields named "status" with different choices: a notification's and a campaign photo's.
        "NotificationStatusEnum": "push.models.NotificationStatus",
        "SubmissionStatusEnum": "push.participation.models.SubmissionStatus",
        # A reminder's day under its name and its deprecated first name (remind_at).
        "ReminderDayEnum": "waste_calendar.models.ReminderTime",
    },
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
# The workspace's maps: Leaflet is served from our static files; only the tiles may come from elsewhere.
# An empty URL draws no tiles (a city network without internet): the maps show the boundary and the points.
MAP_TILE_URL: str = env("MAP_TILE_URL")
MAP_TILE_ATTRIBUTION: str = env("MAP_TILE_ATTRIBUTION")
# Abfallkalender: an import that would cancel or move more than this share of a district's future
# collections is held for review (docs/waste.md#import-safety).
WASTE_IMPORT_REVIEW_SHARE: float = env("WASTE_IMPORT_REVIEW_SHARE")
if not 0 <= WASTE_IMPORT_REVIEW_SHARE <= 1:
    raise ImproperlyConfigured("WASTE_IMPORT_REVIEW_SHARE is a share between 0 and 1 (0.1 = 10 %).")

# --- Metrics (/metrics): not public. A Bearer token, or the peer address in one of the internal networks.
METRICS_TOKEN: str = env("METRICS_TOKEN")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters (or empty).")
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(network.strip(), strict=False) for network in env("METRICS_ALLOWED_NETWORKS")
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {exc}") from exc
# Read by prometheus-client itself when it is imported; declared here so that it is documented and checked.
PROMETHEUS_MULTIPROC_DIR: str = env("PROMETHEUS_MULTIPROC_DIR")

# --- Security. Behind the city's TLS-terminating proxy; only HTTPS reaches users.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS: list[str] = env("DJANGO_CSRF_TRUSTED_ORIGINS")
SECURE_SSL_REDIRECT = env("DJANGO_SECURE_SSL_REDIRECT") and not DEBUG
# Health probes (and the metrics scrape) come from the orchestrator over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env("DJANGO_NUM_PROXIES") else None
SECURE_HSTS_SECONDS = 0 if DEBUG else env("DJANGO_HSTS_SECONDS")
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of the HTML pages (admin, API docs); every other response gets
# "default-src 'none'; frame-ancestors 'none'" (casapp/csp.py). Scripts only from this origin, never inline
# or eval'd. Inline styles are allowed: the admin and Redoc set them, and a style runs no code.
_media_origins: list[str] = []
if AWS_STORAGE_BUCKET_NAME:  # photos in the admin come from the bucket (or the CDN in front of it)
    _media_origins = (
        [f"https://{_s3_options['custom_domain']}"]
        if _s3_options["custom_domain"]
        else [_s3_options["endpoint_url"] or "https://*.amazonaws.com"]
    )
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *_media_origins],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Added to the policy of a page that shows a map (the overview map, a report in the admin): the tile server
# of MAP_TILE_URL ("{s}" subdomains as a wildcard), nothing if there are no tiles. Leaflet is ours ('self').
_tile_server = urlsplit(MAP_TILE_URL.replace("{s}", "*"))
MAP_CSP_SOURCES: dict[str, list[str]] = (
    {"img-src": [f"{_tile_server.scheme}://{_tile_server.netloc}"]} if MAP_TILE_URL else {}
)
# The city-hall screen /bildschirm/ (docs/screen.md): the origins whose pages may embed it in a frame
# (CSP frame-ancestors); empty, it refuses framing like every other page.
SCREEN_FRAME_ANCESTORS: list[str] = [origin.lower().rstrip("/") for origin in env("SCREEN_FRAME_ANCESTORS")]
for _origin in SCREEN_FRAME_ANCESTORS:
    if not re.fullmatch(r"https?://(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?", _origin):
        raise ImproperlyConfigured(
            f"SCREEN_FRAME_ANCESTORS: {_origin!r} is not an origin like https://www.castrop-rauxel.de"
        )
# The screens' summary is computed at most once per this many seconds (per filter and language), whatever
# the number of screens polling; a change shows in the next window. Not an environment variable: the
# screens' 30-60 s refresh is the issue's, tests shorten it.
SCREEN_SUMMARY_SECONDS = 30
# The screens' medians (over 30 and 90 days, most of a summary's cost) are computed at most once per this
# many seconds per filter; every other figure once per window. The screen's footnote says "10 minutes".
SCREEN_MEDIANS_SECONDS = 600
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
