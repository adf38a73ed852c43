"""Test data of the triage workspace: departments with their staff, categories, reports, photos.

Reports are created directly (not through ``report_create``) at a point inside Castrop-Rauxel, so a test
states exactly the state it starts from.
"""

from __future__ import annotations

import io
import secrets
from typing import Any

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from PIL import Image

from push.models import Installation
from reports.models import Category, Department, Report, ReportPhoto, ReportSupport
from tests.factories import InstallationFactory, StaffFactory

# Castrop-Rauxel, near the Marktplatz.
LATITUDE = 51.55
LONGITUDE = 7.31


def department(key: str, *, members: tuple[User, ...] = ()) -> Department:
    created = Department.objects.create(key=key, name=f"Fachbereich {key}")
    created.members.add(*members)
    return created


def category(key: str, *, department: Department) -> Category:
    """A leaf category (reports use leaves) under a group of its own."""
    group, _ = Category.objects.get_or_create(key=f"gruppe-{key}", defaults={"name_de": f"Gruppe {key}"})
    return Category.objects.create(key=key, name_de=key.capitalize(), parent=group, department=department)


def triage_staff(*departments: Department, **fields: Any) -> User:
    """A Triage member of ``departments``."""
    user: User = StaffFactory(roles=["Triage"], **fields)
    for each in departments:
        each.members.add(user)
    return user


def reporter(*, locale: str = "de") -> Installation:
    """The phone a report came from, reachable by push."""
    installation: Installation = InstallationFactory(
        locale=locale,
        push_token=f"token-of-a-reporter-{secrets.token_hex(12)}",
        push_token_kind="registration_token",
    )
    return installation


def report(category: Category, **fields: Any) -> Report:
    return Report.objects.create(
        category=category,
        **{
            "latitude": LATITUDE,
            "longitude": LONGITUDE,
            "description": "Tiefes Schlagloch vor der Hausnummer 12",
            "address": "Münsterstraße 12",
            "stadtteil": "Castrop",
            **fields,
        },
    )


def supporter_of(target: Report) -> Installation:
    installation: Installation = InstallationFactory()
    ReportSupport.objects.create(report=target, installation=installation)
    Report.objects.filter(pk=target.pk).update(support_count=target.supports.count())
    return installation


def _jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def photo(of: Report, *, position: int = 0, removed: bool = False) -> ReportPhoto:
    stored = ReportPhoto(report=of, position=position, removed=removed)
    stored.image.save(f"photo-{of.pk}-{position}.jpg", ContentFile(_jpeg(64, 48)), save=False)
    stored.thumbnail.save(f"photo-{of.pk}-{position}-thumb.jpg", ContentFile(_jpeg(32, 24)), save=False)
    stored.width, stored.height = 64, 48  # as the photo pipeline sets them after storing
    stored.save()
    return stored
