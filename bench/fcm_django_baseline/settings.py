"""The least Django that fcm-django 3.2 needs: its app, auth (devices may belong to users), PostgreSQL."""

from __future__ import annotations

import os

SECRET_KEY = "bench-only-fcm-django-baseline"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "fcm_django"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("FCM_BASELINE_DATABASE", "casapp_bench_fcmdjango"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FCM_DJANGO_SETTINGS = {
    "DEFAULT_FIREBASE_APP": None,  # firebase_admin's default app, initialised by the runner
    "ONE_DEVICE_PER_USER": False,
    "DELETE_INACTIVE_DEVICES": False,
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # requests' pool keeps 10 connections; the other 490 threads of a batch open and drop their own,
    # which urllib3 reports once per request.
    "loggers": {"urllib3": {"level": "ERROR"}},
}
