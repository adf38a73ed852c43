"""docs/operations.md says what the code does: periodic tasks, who may add staff users, variable names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from casapp.settings import ENV_SCHEMA
from tests.factories import StaffFactory

OPERATIONS = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")


def test_every_periodic_task_is_in_the_beat_table() -> None:
    missing = [
        entry["task"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if f"`{entry['task']}`" not in OPERATIONS
    ]
    assert missing == []


def test_every_variable_or_setting_named_exists() -> None:
    named = set(re.findall(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`", OPERATIONS))
    unknown = sorted(name for name in named if name not in ENV_SCHEMA and not hasattr(settings, name))
    assert unknown == []


@pytest.mark.django_db
def test_who_adds_staff_users_is_what_the_doc_says(administration_client, client) -> None:
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get("/admin/auth/user/add/").status_code == 200

    # Administration adds staff in staff management, never through auth's own user admin.
    assert administration_client.get("/admin/casapp/staffmember/add/").status_code == 200
    assert administration_client.get("/admin/auth/user/add/").status_code == 403
    assert "Administration manages the city's staff in the workspace" in OPERATIONS
    assert "Only superusers add" not in OPERATIONS
    assert "Superusers manage superusers" in OPERATIONS
