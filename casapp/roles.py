"""Staff roles: the groups Triage, Kommunikation and Administration and what each may do.

The groups themselves are created by a data migration. Their permissions are declared by each app in
``AppConfig.role_permissions`` (``{"Group": ["codename" | "app_label.codename", ...]}``) and synced after
every ``migrate``, because permissions of a model only exist once its migration has run.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission

ROLES = ("Triage", "Kommunikation", "Administration")


def role_permissions_sync(**kwargs: Any) -> None:
    """Adds each declared permission to its group; permissions granted by hand are left alone."""
    for config in apps.get_app_configs():
        declared: dict[str, list[str]] = getattr(config, "role_permissions", {})
        for group_name, codenames in declared.items():
            group, _ = Group.objects.get_or_create(name=group_name)
            for entry in codenames:
                app_label, _, codename = entry.rpartition(".")
                permission = Permission.objects.filter(
                    content_type__app_label=app_label or config.label, codename=codename
                ).first()
                if permission is not None:
                    group.permissions.add(permission)
