"""The four-eyes workflow on a notification's own page in the workspace, and the e-mails it sends.

Actors: the author and a colleague in Kommunikation (the second pair of eyes), a third Kommunikation member
(also told), Administration (looks, may not act). E-mails go to Django's test outbox (locmem); a send goes to
the fake FCM server through firebase-admin.
"""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

from push import services, tasks
from push.models import AuditEntry, Installation, Notification, StaffDevice, Topic, WorkflowMail
from push.selectors import notification_statistics
from push.services.workflow_mail import workflow_mails_resend_pending
from tests.factories import InstallationFactory, StaffFactory
from tests.mail import race_send_and_sweep

NOTIFICATIONS = "/admin/push/notification/"
OUTAGE = {"de": {"title": "Bürgerbüro geschlossen", "body": "Wegen einer Störung bleibt es heute zu."}}
HOTLINE_OUTAGE = {
    "de": {
        "title": "Störung Bürgertelefon",
        "body": "Das Bürgertelefon ist gestört. Bitte nutzen Sie die Zentrale: 02305 106-0.",
    }
}


def person(*roles: str, email: str = "", language: str = "en", **fields: Any) -> Client:
    """A staff member's browser session (English unless told, so messages compare in one language)."""
    client = Client(headers={"Accept-Language": language})
    user = StaffFactory(roles=list(roles), email=email, **fields)
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.fixture
def author(db: Any) -> Client:
    return person("Kommunikation", email="autorin@castrop-rauxel.de", first_name="Anna", last_name="Autorin")


@pytest.fixture
def colleague(db: Any) -> Client:
    return person("Kommunikation", email="kollege@castrop-rauxel.de", first_name="Paul", last_name="Presse")


@pytest.fixture
def third(db: Any) -> Client:
    return person("Kommunikation", email="dritte@castrop-rauxel.de")


@pytest.fixture
def administration(db: Any) -> Client:
    return person("Administration", email="verwaltung@castrop-rauxel.de")


@pytest.fixture(autouse=True)
def subscribers(db: Any) -> list[Installation]:
    """Two phones that take outages: a notification nobody would receive cannot be submitted."""
    phones = [
        InstallationFactory(
            push_token=f"token-workflow-{n}-0000000000001", push_token_kind="registration_token"
        )
        for n in range(2)
    ]
    for phone in phones:
        phone.topics.add(Topic.objects.get(key="stoerungen"))
    return phones


def draft_by(client: Client, **fields: Any) -> Notification:
    return services.notification_create(
        author=client.user,  # type: ignore[attr-defined]
        **{"kind": "outage", "content": OUTAGE, **fields},
    )


def page(client: Client, notification: Notification) -> Any:
    response = client.get(f"{NOTIFICATIONS}{notification.pk}/change/")
    assert response.status_code == 200
    return response


def buttons(client: Client, notification: Notification) -> set[str]:
    """The workflow buttons the page shows (each a form posting to its own URL)."""
    html = page(client, notification).content.decode()
    return {
        action
        for action in services.notifications.WORKFLOW_ACTIONS
        if f'name="workflow" value="{action}"' in html and f"/{notification.pk}/workflow/{action}/" in html
    }


def step(
    client: Client, notification: Notification, action: str, capture: Any = None, **data: str
) -> list[str]:
    """Presses a button on the page; returns the messages shown after the redirect back to it."""
    url = f"{NOTIFICATIONS}{notification.pk}/workflow/{action}/"
    if capture is None:
        response = client.post(url, data, follow=True)
    else:
        with capture(execute=True):
            response = client.post(url, data, follow=True)
    assert response.redirect_chain == [(f"{NOTIFICATIONS}{notification.pk}/change/", 302)], (
        response.status_code
    )
    return [m.message for m in response.context["messages"]]


def status_of(notification: Notification) -> str:
    notification.refresh_from_db()
    return notification.status


def mails_to(address: str) -> list[Any]:
    return [message for message in mail.outbox if address in message.to]


# --- Who sees which button


@pytest.mark.django_db
def test_each_person_sees_only_the_steps_they_may_take(
    author, colleague, administration, django_capture_on_commit_callbacks
):
    notification = draft_by(author)

    assert buttons(author, notification) == {"request_approval", "cancel"}
    assert buttons(colleague, notification) == {"request_approval", "cancel"}  # co-editors may submit
    assert buttons(administration, notification) == set()

    step(author, notification, "request_approval", django_capture_on_commit_callbacks)

    assert buttons(author, notification) == {"cancel"}  # never their own approval
    assert "a colleague in Kommunikation approves it, not you" in page(author, notification).content.decode()
    assert buttons(colleague, notification) == {"approve", "reject", "cancel"}
    assert buttons(administration, notification) == set()


@pytest.mark.django_db
def test_the_test_button_appears_once_a_phone_is_paired_and_the_fast_path_with_the_grant(author):
    notification = draft_by(author)
    before = buttons(author, notification)
    assert "Pair your phone to send tests to it." in page(author, notification).content.decode()

    StaffDevice.objects.create(user=author.user, installation=InstallationFactory(), paired_at=timezone.now())
    author.user.user_permissions.add(Permission.objects.get(codename="send_emergency_outage"))

    assert before == {"request_approval", "cancel"}
    assert buttons(author, notification) == {"request_approval", "cancel", "send_test", "send_emergency"}
    news = draft_by(author, kind="news")
    assert "send_emergency" not in buttons(author, news)  # the fast path is for outages only


# --- The server decides, whatever the page showed


@pytest.mark.django_db
def test_the_author_cannot_approve_or_reject_their_own_by_a_forged_post(
    author, django_capture_on_commit_callbacks
):
    notification = draft_by(author)
    step(author, notification, "request_approval", django_capture_on_commit_callbacks)

    approving = step(author, notification, "approve")
    rejecting = step(author, notification, "reject", reason="Passt so nicht.")

    assert approving == ["A second person must approve what you wrote."]
    assert rejecting == ["A second person must approve what you wrote."]
    assert status_of(notification) == "awaiting_approval"
    assert not AuditEntry.objects.filter(
        notification=notification, action__in=["approved", "rejected"]
    ).exists()


@pytest.mark.django_db
def test_a_colleague_who_changed_the_text_is_no_second_pair_of_eyes(author, colleague):
    notification = draft_by(author)
    services.notification_update(
        notification=notification,
        actor=colleague.user,  # type: ignore[attr-defined]
        content={"de": {"title": "Bürgerbüro zu", "body": "Heute geschlossen."}},
    )
    services.notification_request_approval(notification=notification, actor=author.user)  # type: ignore[attr-defined]

    assert "approve" not in buttons(colleague, notification)
    assert step(colleague, notification, "approve") == ["A second person must approve what you wrote."]
    assert status_of(notification) == "awaiting_approval"


@pytest.mark.django_db
def test_steps_in_the_wrong_state_or_without_the_right_are_refused(author, colleague, administration):
    notification = draft_by(author)

    early = step(colleague, notification, "approve")
    assert early == ["Not possible while the notification is draft."]
    assert administration.post(f"{NOTIFICATIONS}{notification.pk}/workflow/cancel/").status_code == 403
    assert administration.post(f"{NOTIFICATIONS}{notification.pk}/workflow/approve/").status_code == 302
    assert author.get(f"{NOTIFICATIONS}{notification.pk}/workflow/cancel/").status_code == 405
    assert author.post(f"{NOTIFICATIONS}{notification.pk}/workflow/delete/").status_code == 404
    assert author.post(f"{NOTIFICATIONS}999999/workflow/cancel/").status_code == 404
    assert status_of(notification) == "draft"
    no_device = step(author, notification, "send_test")
    assert no_device == ['Pair your phone first: "Pair my phone" under test devices in the workspace.']


# --- The whole way, with the e-mails


@pytest.mark.django_db
def test_submit_tells_every_other_approver_and_approval_tells_the_author_and_the_figures_follow(  # noqa: PLR0917
    author,
    colleague,
    third,
    administration,
    subscribers,
    firebase_backend,
    django_capture_on_commit_callbacks,
):
    notification = draft_by(author, content=HOTLINE_OUTAGE)

    submitted = step(author, notification, "request_approval", django_capture_on_commit_callbacks)

    assert submitted[0].startswith("Submitted for approval.")
    assert status_of(notification) == "awaiting_approval"
    assert {address for message in mail.outbox for address in message.to} == {
        "kollege@castrop-rauxel.de",
        "dritte@castrop-rauxel.de",
    }  # not the author, not Administration (who may not approve)
    [waiting] = mails_to("kollege@castrop-rauxel.de")
    assert waiting.subject == "Wartet auf Ihre Freigabe: „Störung Bürgertelefon“"
    assert "Anna Autorin bittet um ein zweites Augenpaar" in waiting.body
    assert "02305 106-0" in waiting.body
    assert f"/admin/push/notification/{notification.pk}/change/" in waiting.body
    submitted_at = AuditEntry.objects.get(notification=notification, action="approval_requested").at
    assert (
        f"{timezone.localtime(submitted_at, dt.timezone(dt.timedelta(hours=1))):%d.%m.%Y %H:%M}"
        in waiting.body
    )

    mail.outbox.clear()
    approved = step(colleague, notification, "approve", django_capture_on_commit_callbacks)

    assert approved == ["Approved. The author is told by e-mail."]
    assert status_of(notification) == "sent"
    assert len(firebase_backend.messages()) == 2  # both subscribers, through FCM
    approval, finished = mails_to("autorin@castrop-rauxel.de")
    assert approval.subject == "Freigegeben: „Störung Bürgertelefon“"
    assert "Paul Presse hat Ihre Benachrichtigung am" in approval.body
    assert finished.subject == "Gesendet (gesendet): „Störung Bürgertelefon“, 2 von 2 Installationen"
    assert "Adressierte Installationen: 2" in finished.body
    assert "Von FCM angenommen: 2" in finished.body
    assert "Fehlgeschlagen: 0" in finished.body
    assert len(mail.outbox) == 2
    assert list(notification.audit_entries.values_list("action", flat=True)) == [
        "created",
        "approval_requested",
        "approved",
        "sending_started",
        "sending_finished",
    ]
    closing = notification.audit_entries.get(action="sending_finished")
    assert closing.changes["status"] == ["sending", "sent"]
    assert (closing.changes["targeted"], closing.changes["accepted"], closing.changes["failed"]) == (2, 2, 0)
    assert WorkflowMail.objects.filter(sent_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_a_rejection_needs_a_reason_and_the_author_reads_it(
    author, colleague, django_capture_on_commit_callbacks
):
    notification = draft_by(author)
    step(author, notification, "request_approval", django_capture_on_commit_callbacks)
    mail.outbox.clear()

    without = step(colleague, notification, "reject", django_capture_on_commit_callbacks, reason="   ")
    assert without == ["Say why you reject it: the author reads it."]
    assert status_of(notification) == "awaiting_approval"
    assert mail.outbox == []

    rejected = step(
        colleague,
        notification,
        "reject",
        django_capture_on_commit_callbacks,
        reason="Bitte die Öffnungszeiten von morgen ergänzen.",
    )

    assert rejected[0].startswith("Rejected: it is a draft again.")
    assert status_of(notification) == "draft"
    [told] = mail.outbox
    assert told.to == ["autorin@castrop-rauxel.de"]
    assert told.subject == "Abgelehnt: „Bürgerbüro geschlossen“"
    assert "Begründung: Bitte die Öffnungszeiten von morgen ergänzen." in told.body
    entry = notification.audit_entries.get(action="rejected")
    assert entry.changes == {
        "status": ["awaiting_approval", "draft"],
        "reason": "Bitte die Öffnungszeiten von morgen ergänzen.",
    }
    # The author fixes it and submits again: the colleagues are told again.
    assert buttons(author, notification) == {"request_approval", "cancel"}
    step(author, notification, "request_approval", django_capture_on_commit_callbacks)
    assert len(mails_to("kollege@castrop-rauxel.de")) == 1


@pytest.mark.django_db
def test_cancel_on_the_page_stops_a_notification_before_it_is_sent(
    author, django_capture_on_commit_callbacks
):
    notification = draft_by(author, send_at=timezone.now() + dt.timedelta(hours=2))

    assert step(author, notification, "cancel") == ["Cancelled: it will not be sent."]
    assert status_of(notification) == "cancelled"
    assert buttons(author, notification) == set()


# --- The outage fast path


@pytest.mark.django_db
def test_the_fast_path_needs_the_grant_and_a_reason_and_shows_in_log_and_figures(
    author, colleague, subscribers, firebase_backend, django_capture_on_commit_callbacks
):
    notification = draft_by(author)
    forged = step(author, notification, "send_emergency", reason="Telefonanlage ausgefallen")
    assert forged == ["You lack the emergency permission."]
    author.user.user_permissions.add(Permission.objects.get(codename="send_emergency_outage"))
    author.user = type(author.user).objects.get(pk=author.user.pk)  # a fresh permission cache

    without_reason = step(author, notification, "send_emergency", reason="")
    assert without_reason == ["Say why it cannot wait for a second approval."]
    assert status_of(notification) == "draft"

    sent = step(
        author,
        notification,
        "send_emergency",
        django_capture_on_commit_callbacks,
        reason="Telefonanlage ausgefallen, niemand aus Kommunikation erreichbar.",
    )

    assert sent == ["Sent without a second approval. A colleague must review it."]
    notification.refresh_from_db()
    assert (notification.status, notification.emergency, notification.needs_review) == ("sent", True, True)
    assert notification.emergency_reason == "Telefonanlage ausgefallen, niemand aus Kommunikation erreichbar."
    entry = notification.audit_entries.get(action="emergency_send")
    assert entry.changes["reason"] == notification.emergency_reason
    statistics = notification_statistics(notification)
    assert (statistics["sent_without_approval"], statistics["fast_path_reason"]) == (
        True,
        notification.emergency_reason,
    )
    html = page(colleague, notification).content.decode()
    assert "Sent without a second approval (outage fast path). Reason: Telefonanlage ausgefallen" in html
    assert buttons(colleague, notification) == {"review"}
    assert "review" not in buttons(author, notification)
    [finished] = mails_to("autorin@castrop-rauxel.de")  # the author sent it: no approval e-mail
    assert "Ohne zweite Freigabe gesendet (Eilweg für Störungen), Begründung: Telefon" in finished.body
    assert step(colleague, notification, "review") == ["Marked as reviewed."]


# --- The workspace index


@pytest.mark.django_db
def test_the_index_counts_what_waits_for_my_approval(author, colleague, administration):
    mine = draft_by(author)
    services.notification_request_approval(notification=mine, actor=author.user)  # type: ignore[attr-defined]
    draft_by(author)  # a draft waits for nobody

    colleague_index = colleague.get("/admin/").content.decode()
    author_index = author.get("/admin/").content.decode()

    assert "1 notification waits for your approval" in colleague_index
    assert "?status__exact=awaiting_approval" in colleague_index
    assert "No notification waits for your approval." in author_index
    assert "waits for your approval" not in administration.get("/admin/").content.decode()


@pytest.mark.django_db
def test_the_index_speaks_german(author, django_capture_on_commit_callbacks):
    colleague = person("Kommunikation", language="de")
    services.notification_request_approval(notification=draft_by(author), actor=author.user)  # type: ignore[attr-defined]

    assert "1 Benachrichtigung wartet auf Ihre Freigabe" in colleague.get("/admin/").content.decode()


# --- A mail server that refuses


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.django_db
def test_a_refusing_mail_server_loses_no_e_mail_and_the_sweep_sends_it_once(
    author, colleague, django_capture_on_commit_callbacks
):
    notification = draft_by(author)
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=_closed_port(),
        EMAIL_TIMEOUT=2,
    ):
        messages = step(author, notification, "request_approval", django_capture_on_commit_callbacks)

    assert messages[0].startswith("Submitted for approval.")  # the step is done all the same
    assert status_of(notification) == "awaiting_approval"
    [row] = WorkflowMail.objects.all()
    assert (row.sent_at, row.attempts, row.email) == (None, 1, "kollege@castrop-rauxel.de")
    assert "ConnectionRefusedError" in row.last_error

    assert workflow_mails_resend_pending() == 0  # too young: its task's retries come first
    later = timezone.now() + dt.timedelta(minutes=11)
    assert workflow_mails_resend_pending(now=later) == 1
    assert workflow_mails_resend_pending(now=later) == 0
    [sent] = mail.outbox
    assert sent.to == ["kollege@castrop-rauxel.de"]
    row.refresh_from_db()
    assert row.sent_at is not None


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["send", "sweep"])
def test_the_send_task_and_the_sweep_racing_send_the_e_mail_once(
    first: str, author: Client, colleague: Client, settings: Any
) -> None:
    """Service tier (PostgreSQL row locks): while one of them is in the middle of sending the e-mail, the
    other finds it locked and leaves it; afterwards it finds it sent."""
    step(author, draft_by(author), "request_approval")  # its task waits in the broker: no worker here
    [row] = WorkflowMail.objects.all()
    WorkflowMail.objects.filter(pk=row.pk).update(created_at=timezone.now() - dt.timedelta(minutes=11))

    arrived = race_send_and_sweep(
        settings,
        send=lambda: tasks.send_workflow_mails.apply(args=[row.audit_entry_id]),
        sweep=tasks.resend_pending_workflow_mails.apply,
        first=first,
    )

    row.refresh_from_db()
    assert (arrived, row.sent_at is not None, row.attempts) == ([["kollege@castrop-rauxel.de"]], True, 1)


@pytest.mark.django_db
def test_the_author_reads_the_figures_of_a_send_that_partly_failed(  # noqa: PLR0917
    author, colleague, subscribers, firebase_backend, django_capture_on_commit_callbacks, settings
):
    settings.PUSH_MAX_ATTEMPTS = 1
    firebase_backend.add_fault("unregistered", token=subscribers[0].push_token)
    gone = StaffFactory(roles=["Kommunikation"], email="weg@castrop-rauxel.de", is_active=False)
    notification = draft_by(author)
    step(author, notification, "request_approval", django_capture_on_commit_callbacks)
    assert mails_to(gone.email) == []  # inactive members are not told
    mail.outbox.clear()

    step(colleague, notification, "approve", django_capture_on_commit_callbacks)

    assert status_of(notification) == "partly_failed"
    finished = mails_to("autorin@castrop-rauxel.de")[-1]
    assert (
        finished.subject
        == "Gesendet (teilweise fehlgeschlagen): „Bürgerbüro geschlossen“, 1 von 2 Installationen"
    )
    for line in ("Adressierte Installationen: 2", "Von FCM angenommen: 1", "Fehlgeschlagen: 1"):
        assert line in finished.body
    assert "Davon Push abgeschaltet (ungültiges Token): 1" in finished.body


@pytest.mark.django_db
def test_a_test_from_the_page_reaches_only_the_own_paired_phone(
    author, subscribers, firebase_backend, django_capture_on_commit_callbacks
):
    phone = InstallationFactory(
        push_token="token-workflow-own-phone-000001", push_token_kind="registration_token"
    )
    StaffDevice.objects.create(user=author.user, installation=phone, paired_at=timezone.now())
    notification = draft_by(author)

    sent = step(author, notification, "send_test", django_capture_on_commit_callbacks)

    assert sent == ["Test sent to your paired phones, titled “[TEST]”."]
    [pushed] = firebase_backend.messages()
    assert pushed["message"]["token"] == phone.push_token
    assert pushed["message"]["notification"]["title"] == "[TEST] Bürgerbüro geschlossen"
    assert status_of(notification) == "draft"  # a test is no send
