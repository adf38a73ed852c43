"""Keeps the cached app configuration in step with what staff change in the admin; marks logins made with a
temporary password."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
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


@receiver(user_logged_in)
def _mark_temporary_password(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from casapp.middleware import TEMPORARY_PASSWORD_SESSION_KEY
    from casapp.staff import temporary_password_pending

    if request is not None and hasattr(request, "session") and temporary_password_pending(user):
        request.session[TEMPORARY_PASSWORD_SESSION_KEY] = True
