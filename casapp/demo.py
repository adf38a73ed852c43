"""Demo staff accounts, shared by the apps' demo data: created once, their passwords printed once.

``load_demo`` empties ``created`` before the apps run and prints it at the end, so every app's demo
accounts appear in one table.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission, User

# username, role, password: the accounts this run created.
created: list[tuple[str, str, str]] = []


def demo_staff_member(
    *, username: str, first_name: str, last_name: str, roles: Iterable[str], grants: Iterable[str] = ()
) -> User:
    """The demo account ``username``; created with a random password if missing, left as it is otherwise."""
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    password = secrets.token_urlsafe(12)
    member = User.objects.create_user(
        username=username,
        password=password,
        first_name=first_name,
        last_name=last_name,
        email=f"{username}@castrop-rauxel.invalid",
        is_staff=True,
    )
    roles = list(roles)
    member.groups.add(*Group.objects.filter(name__in=roles))
    for grant in grants:
        app_label, codename = grant.split(".")
        member.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    created.append((username, ", ".join(roles), password))
    return member
