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
            # Staff accounts through the StaffMember proxy only: auth's own change_user would also reach
            # superusers and any permission. Accounts are deactivated, never deleted.
            "add_staffmember",
            "change_staffmember",
            "view_staffmember",
            "view_staffauditentry",
            # Failed login attempts: see them and lift an address's lock by deleting its attempts.
            "axes.view_accessattempt",
            "axes.delete_accessattempt",
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
