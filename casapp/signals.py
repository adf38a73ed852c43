"""Keeps the cached app configuration in step with what staff change in the admin."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from casapp.appconfig import app_config_invalidate
from casapp.models import AppConfiguration, MaintenanceBanner, PlatformRelease


@receiver([post_save, post_delete], sender=AppConfiguration)
@receiver([post_save, post_delete], sender=PlatformRelease)
@receiver([post_save, post_delete], sender=MaintenanceBanner)
def _config_changed(**kwargs: Any) -> None:
    transaction.on_commit(app_config_invalidate)
