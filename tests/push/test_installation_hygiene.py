"""Token hygiene: unseen installations are skipped after 30 days and erased after 270."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from push.models import Installation
from push.signals import installation_erasing
from push.tasks import installation_hygiene
from tests.conftest import device_client_for
from tests.factories import InstallationFactory


def aged(days: int) -> Installation:
    installation = InstallationFactory(push_token=f"aged-{days:04d}-abcdefghijklmnop", push_token_kind="fid")
    Installation.objects.filter(pk=installation.pk).update(last_seen_at=timezone.now() - timedelta(days=days))
    return installation


@pytest.mark.django_db
def test_hygiene_marks_stale_and_purges_long_unseen_installations():
    fresh, stale, gone = aged(2), aged(31), aged(271)
    erased = []

    def receiver(sender, installation, **kwargs):
        erased.append(installation.pk)

    installation_erasing.connect(receiver)
    try:
        result = installation_hygiene.delay()
    finally:
        installation_erasing.disconnect(receiver)

    assert result.get() == {"stale": 2, "purged": 1}
    assert erased == [gone.pk]
    assert not Installation.objects.filter(pk=gone.pk).exists()
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.is_stale
    assert stale.is_active  # its token is not dead: reminders it asked for still reach it
    assert not fresh.is_stale


@pytest.mark.django_db
def test_a_stale_installation_that_opens_the_app_is_active_again(settings):
    stale = aged(40)
    installation_hygiene.delay()
    stale.refresh_from_db()
    assert stale.is_stale

    response = device_client_for(stale).get("/api/v1/devices/me")

    assert response.status_code == 200
    stale.refresh_from_db()
    assert not stale.is_stale


@pytest.mark.django_db
def test_a_token_declared_dead_by_fcm_is_not_revived_by_use():
    dead = aged(40)
    Installation.objects.filter(pk=dead.pk).update(is_active=False, deactivation_reason="unregistered")

    device_client_for(dead).get("/api/v1/devices/me")

    dead.refresh_from_db()
    assert (dead.is_active, dead.deactivation_reason) == (False, "unregistered")
