from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _crud(model: str) -> list[str]:
    return [f"{action}_{model}" for action in ("add", "change", "delete", "view")]


class CasappConfig(AppConfig):
    name = "casapp"
    verbose_name = _("CAS-App platform")
    role_permissions = {
        "Administration": [
            *_crud("appconfiguration"),
            *_crud("platformrelease"),
            *_crud("maintenancebanner"),
            *_crud("staffapitoken"),
            # Creating and changing accounts stays with superusers: change_user could grant superuser.
            "auth.view_user",
            "auth.view_group",
        ],
        # Comms staff put up the banner on outage days.
        "Kommunikation": [*_crud("maintenancebanner"), "view_appconfiguration"],
    }

    def ready(self) -> None:
        from celery.signals import task_failure

        from casapp import signals  # noqa: F401  (connects the receivers)
        from casapp.api import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from casapp.metrics import task_failure_count
        from casapp.roles import role_permissions_sync

        task_failure.connect(task_failure_count, dispatch_uid="casapp.task_failure_count")
        post_migrate.connect(role_permissions_sync, dispatch_uid="casapp.role_permissions_sync")
