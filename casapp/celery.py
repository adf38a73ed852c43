"""The Celery app. Without REDIS_URL tasks run eagerly in the calling process (``make run``, tests)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casapp.settings")

app = Celery("casapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
