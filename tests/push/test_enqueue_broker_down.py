"""A send started while the Celery broker cannot be reached: the caller's request still succeeds (its
write committed), and the stored outbox is sent once the broker is back."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from push.models import Delivery
from push.tasks import resume_stalled_sends
from reports.models import Report
from tests.reports.staff_factories import category, department, report, reporter


@contextmanager
def broker_unreachable() -> Iterator[None]:
    """Tasks go to a real broker client aimed at a loopback port where nothing listens (connection
    refused, as while Redis restarts)."""
    from casapp.celery import app

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    before = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, f"redis://127.0.0.1:{port}/0"
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.broker_url = before


@pytest.mark.django_db(transaction=True)
def test_a_status_change_while_the_broker_is_down_answers_200_and_its_push_follows_later(triage_client):
    tiefbau = department("tiefbau")
    tiefbau.members.add(triage_client.user)
    filed = report(category("schlagloch", department=tiefbau), installation=reporter())

    with broker_unreachable():
        response = triage_client.post(
            f"/api/v1/staff/reports/{filed.pk}/transition", {"status": "in_bearbeitung"}, format="json"
        )

    assert response.status_code == 200, response.content[:300]
    assert Report.objects.get(pk=filed.pk).status == "in_bearbeitung"
    delivery = Delivery.objects.get(installation=filed.installation)
    assert (delivery.status, delivery.notification.status) == ("pending", "sending")

    resume_stalled_sends.delay()  # beat's minutely task, once the broker answers again (eager here)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.notification.status) == ("accepted", "sent")
