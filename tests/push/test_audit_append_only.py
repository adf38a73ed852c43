"""Service tier (PostgreSQL): the audit log is append-only in the database itself. Whoever gets at the
database with raw SQL (a script, a console, a compromised app account) can neither rewrite nor remove an
entry, and a notification with a log cannot be deleted with it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError, IntegrityError

from push import services
from push.models import AuditEntry, Notification, Topic
from tests.factories import InstallationFactory, StaffFactory

pytestmark = pytest.mark.services

CONTENT = {"de": {"title": "Bürgerbüro geschlossen", "body": "Heute wegen einer Störung geschlossen."}}


@pytest.fixture
def logged(db: Any) -> AuditEntry:
    author = StaffFactory(roles=["Kommunikation"])
    phone = InstallationFactory(
        push_token="token-append-only-00000000001", push_token_kind="registration_token"
    )
    phone.topics.add(Topic.objects.get(key="stoerungen"))  # someone to reach: it may be submitted
    notification = services.notification_create(author=author, kind="outage", content=CONTENT)
    services.notification_request_approval(notification=notification, actor=author)
    return AuditEntry.objects.filter(notification=notification).order_by("pk").first()  # type: ignore[return-value]


def _run(*statements: tuple[str, list[Any]]) -> None:
    """Raw SQL in a savepoint of its own: a refused statement rolls back only that."""
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def _refused(sql: str, *params: Any) -> str:
    with pytest.raises(DatabaseError) as refused:
        _run((sql, list(params)))
    return str(refused.value)


@pytest.mark.django_db
def test_raw_update_and_delete_of_an_entry_fail(logged):
    assert connection.vendor == "postgresql"
    before = AuditEntry.objects.filter(notification=logged.notification).count()

    updated = _refused("UPDATE push_auditentry SET action = 'approved' WHERE id = %s", logged.pk)
    deleted = _refused("DELETE FROM push_auditentry WHERE id = %s", logged.pk)
    deleted_all = _refused("DELETE FROM push_auditentry")

    assert "append-only" in updated
    assert "append-only" in deleted
    assert "append-only" in deleted_all
    logged.refresh_from_db()
    assert logged.action == "created"
    assert AuditEntry.objects.filter(notification=logged.notification).count() == before


@pytest.mark.django_db
def test_a_notification_with_a_log_cannot_be_deleted_by_raw_sql_either(logged):
    pk = logged.notification_id

    # Django's foreign keys are checked at commit; checked now, the test sees what a commit would.
    with pytest.raises(IntegrityError) as refused:
        _run(("SET CONSTRAINTS ALL IMMEDIATE", []), ("DELETE FROM push_notification WHERE id = %s", [pk]))

    assert "push_auditentry" in str(refused.value)  # the foreign key (no cascade) stops it
    assert Notification.objects.filter(pk=pk).exists()
    assert AuditEntry.objects.filter(notification_id=pk).count() == 2


@pytest.mark.django_db
def test_new_entries_are_still_written(logged):
    services.notification_cancel(notification=logged.notification, actor=logged.actor)

    assert list(
        AuditEntry.objects.filter(notification=logged.notification).values_list("action", flat=True)
    ) == ["created", "approval_requested", "cancelled"]
