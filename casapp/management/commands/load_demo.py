"""Installs the Castrop-Rauxel demo: app configuration and one staff user per role.

Idempotent: a second run changes nothing and prints no password again. Each app adds its own demo data
through a ``demo`` module with a ``load_demo(stdout)`` function (reports, waste calendar).
"""

from __future__ import annotations

import importlib
import secrets
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from casapp.models import AppConfiguration, PlatformRelease

DEMO_STAFF = [
    # username, first name, last name, role
    ("triage", "Tina", "Triage", "Triage"),
    ("kommunikation", "Kai", "Kommunikation", "Kommunikation"),
    ("verwaltung", "Vera", "Verwaltung", "Administration"),
]


class Command(BaseCommand):
    help = "Loads the Castrop-Rauxel demo data (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            AppConfiguration.objects.get_or_create(pk=1)
            for platform in ("ios", "android"):
                PlatformRelease.objects.get_or_create(
                    platform=platform,
                    defaults={"min_supported_version": "1.0.0", "latest_version": "1.4.0"},
                )
            created = self._staff()
        for app_config in apps.get_app_configs():
            if app_config.name in {"casapp"}:
                continue
            try:
                demo = importlib.import_module(f"{app_config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app_config.name}.demo":
                    raise
                continue
            demo.load_demo(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        if created:
            self.stdout.write("Staff users (passwords are shown only this once):")
            for username, role, password in created:
                self.stdout.write(f"  {username:<14} {role:<15} {password}")

    def _staff(self) -> list[tuple[str, str, str]]:
        user_model = get_user_model()
        created = []
        for username, first_name, last_name, role in DEMO_STAFF:
            if user_model.objects.filter(username=username).exists():
                continue
            password = secrets.token_urlsafe(12)
            user = user_model.objects.create_user(
                username=username,
                password=password,
                first_name=first_name,
                last_name=last_name,
                email=f"{username}@castrop-rauxel.invalid",
                is_staff=True,
            )
            user.groups.add(Group.objects.get(name=role))
            created.append((username, role, password))
        return created
