"""Installs the Castrop-Rauxel demo: app configuration and the platform's staff accounts (two Kommunikation
members, so one writes and the other approves, one of them with the outage fast path; one Administration
member). The apps add theirs (the Mängelmelder a Triage member per department and a team lead).

Idempotent: a second run changes nothing and prints no password again. Each app adds its own demo data
through a ``demo`` module with a ``load_demo(stdout)`` function (reports, waste calendar).
"""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from casapp import demo
from casapp.models import AppConfiguration, PlatformRelease

DEMO_STAFF = [
    # username, first name, last name, role, single grants
    ("kommunikation", "Kai", "Kommunikation", "Kommunikation", ["push.send_emergency_outage"]),
    ("presse", "Paula", "Presse", "Kommunikation", []),
    ("verwaltung", "Vera", "Verwaltung", "Administration", []),
]


class Command(BaseCommand):
    help = "Loads the Castrop-Rauxel demo data (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        demo.created.clear()
        with transaction.atomic():
            AppConfiguration.objects.get_or_create(pk=1)
            for platform in ("ios", "android"):
                PlatformRelease.objects.get_or_create(
                    platform=platform,
                    defaults={"min_supported_version": "1.0.0", "latest_version": "1.4.0"},
                )
            for username, first_name, last_name, role, grants in DEMO_STAFF:
                demo.demo_staff_member(
                    username=username, first_name=first_name, last_name=last_name, roles=[role], grants=grants
                )
        for app_config in apps.get_app_configs():
            if app_config.name in {"casapp"}:
                continue
            try:
                app_demo = importlib.import_module(f"{app_config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app_config.name}.demo":
                    raise
                continue
            app_demo.load_demo(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        if demo.created:
            self.stdout.write("Staff users (passwords are shown only this once):")
            for username, roles, password in demo.created:
                self.stdout.write(f"  {username:<14} {roles:<15} {password}")
