"""The staff workspace for notifications in the Django admin: drafts, workflow actions, audit log, test
devices and topics. Actors: an author and a colleague in Kommunikation, Administration, Triage."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from push import services
from push.models import AuditEntry, Delivery, Installation, Notification, StaffDevice, Topic
from tests.conftest import device_client_for
from tests.factories import InstallationFactory, StaffFactory

NOTIFICATIONS = "/admin/push/notification/"
OUTAGE = {
    "de": {"title": "Bürgerbüro geschlossen", "body": "Wegen einer Störung bleibt es heute zu."},
    "en": {"title": "Citizens' office closed", "body": "It stays closed today because of a failure."},
}


def browser(*roles: str, superuser: bool = False) -> Client:
    """A staff member's browser session; English, so messages are compared in one language."""
    client = Client(headers={"Accept-Language": "en"})
    user = StaffFactory(roles=list(roles), is_superuser=superuser)
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.fixture
def author(db: Any) -> Client:
    return browser("Kommunikation")


@pytest.fixture
def colleague(db: Any) -> Client:
    return browser("Kommunikation")


@pytest.fixture
def subscribers(db: Any) -> list[Installation]:
    outages = Topic.objects.get(key="stoerungen")
    phones = []
    for language in ("de", "en"):
        phone = InstallationFactory(
            push_token=f"token-admin-{language}-000000000001",
            push_token_kind="registration_token",
            locale=language,
        )
        phone.topics.add(outages)
        phones.append(phone)
    return phones


def draft_by(client: Client, **fields: Any) -> Notification:
    return services.notification_create(
        author=client.user,  # type: ignore[attr-defined]
        **{"kind": "outage", "content": OUTAGE, **fields},
    )


def act(client: Client, action: str, *notifications: Notification) -> list[tuple[int, str]]:
    """Runs an admin action on the changelist; returns the messages shown (level, text)."""
    response = client.post(
        NOTIFICATIONS, {"action": action, "_selected_action": [n.pk for n in notifications]}, follow=True
    )
    assert response.redirect_chain == [(NOTIFICATIONS, 302)], response.content[:500]
    return [(m.level, m.message) for m in response.context["messages"]]


def form_data(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "outage",
        "title_de": OUTAGE["de"]["title"],
        "body_de": OUTAGE["de"]["body"],
        "title_en": "",
        "body_en": "",
        "link_target": "",
        "image_choice": "",
        "data": "{}",
        "audience_kind": "all",
        "priority": "",
        "send_at_0": "",
        "send_at_1": "",
        "expires_at_0": "",
        "expires_at_1": "",
        **fields,
    }


WARNING, ERROR, SUCCESS = 30, 40, 25


# --- Writing drafts


@pytest.mark.django_db
def test_a_draft_written_in_the_admin_goes_through_the_service(author):
    response = author.post(
        f"{NOTIFICATIONS}add/",
        form_data(
            title_en=OUTAGE["en"]["title"], body_en=OUTAGE["en"]["body"], audience_stadtteile=["Ickern"]
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    notification = Notification.objects.get()
    assert notification.content == OUTAGE
    assert (notification.status, notification.priority) == ("draft", "high")  # outages default to high
    assert notification.created_by == author.user
    assert notification.outage_state == "ongoing"
    assert list(notification.audit_entries.values_list("action", flat=True)) == ["created"]


@pytest.mark.django_db
def test_a_turkish_text_is_optional_next_to_the_english_one(author):
    turkish = {"title": "Vatandaşlık Bürosu kapalı", "body": "Bugün kapalı kalacak."}
    response = author.post(
        f"{NOTIFICATIONS}add/", form_data(title_tr=turkish["title"], body_tr=turkish["body"])
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    notification = Notification.objects.get()
    assert notification.content == {"de": OUTAGE["de"], "tr": turkish}
    page = author.get(f"{NOTIFICATIONS}{notification.pk}/change/").content.decode()
    assert 'name="title_tr" value="Vatandaşlık Bürosu kapalı"' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"body_de": "Rückfragen an hans.meier@gmx.de"}, "body_de"),
        ({"title_de": ""}, "title_de"),
        ({"title_en": "Only a title"}, "body_en"),
        ({"body_tr": "Yalnızca metin"}, "title_tr"),
        ({"audience_kind": "topics"}, "audience_topics"),
        ({"data": '{"kind": "news"}'}, "data"),
    ],
)
def test_a_refused_draft_shows_the_reason_on_its_field(author, fields, field):
    response = author.post(f"{NOTIFICATIONS}add/", form_data(**fields))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_the_personal_data_refusal_names_the_text_and_the_citys_address_passes(author):
    refused = author.post(f"{NOTIFICATIONS}add/", form_data(body_de="Rathaus 02305 106-0 oder 0171 2345678"))
    allowed = author.post(f"{NOTIFICATIONS}add/", form_data(body_de="buergerbuero@castrop-rauxel.de"))

    assert refused.context["adminform"].form.errors["body_de"] == [
        "Notifications appear on lock screens: no e-mail addresses or phone numbers but the city's own. "
        "Refused: 0171 2345678"
    ]
    assert allowed.status_code == 302
    assert Notification.objects.get().content["de"]["body"] == "buergerbuero@castrop-rauxel.de"


@pytest.mark.django_db
def test_a_draft_opens_with_its_text_in_the_form(author):
    notification = draft_by(author)

    add = author.get(f"{NOTIFICATIONS}add/")
    change = author.get(f"{NOTIFICATIONS}{notification.pk}/change/")

    assert add.status_code == 200
    assert change.status_code == 200
    form = change.context["adminform"].form
    assert (form["title_de"].value(), form["body_en"].value()) == (
        OUTAGE["de"]["title"],
        OUTAGE["en"]["body"],
    )
    assert "kind" not in form.fields  # a draft keeps its kind


@pytest.mark.django_db
def test_administration_reads_drafts_without_changing_them(author):
    notification = draft_by(author)
    administration = browser("Administration")

    page = administration.get(f"{NOTIFICATIONS}{notification.pk}/change/")

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert OUTAGE["en"]["title"].replace("'", "&#x27;") in page.content.decode()
    assert administration.get(f"{NOTIFICATIONS}add/").status_code == 403


@pytest.mark.django_db
def test_a_change_is_saved_by_the_service_and_audited(author, colleague, subscribers):
    notification = draft_by(author)
    services.notification_request_approval(notification=notification, actor=author.user)
    url = f"{NOTIFICATIONS}{notification.pk}/change/"

    response = colleague.post(url, form_data(title_de="Bürgerbüro ab 12 Uhr zu"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    notification.refresh_from_db()
    assert notification.content["de"]["title"] == "Bürgerbüro ab 12 Uhr zu"
    assert notification.status == "draft"  # back to its author after a change
    entry = notification.audit_entries.get(action="updated")
    assert entry.actor == colleague.user
    assert entry.changes["content"][0] == OUTAGE
    assert entry.changes["content"][1]["de"]["title"] == "Bürgerbüro ab 12 Uhr zu"
    assert "en" not in entry.changes["content"][1]


# --- Workflow actions


@pytest.mark.django_db
def test_four_eyes_in_the_admin(author, colleague, subscribers, django_capture_on_commit_callbacks):
    notification = draft_by(author)

    requested = act(author, "request_approval", notification)
    own = act(author, "approve", notification)
    with django_capture_on_commit_callbacks(execute=True):
        approved = act(colleague, "approve", notification)

    assert requested == [(SUCCESS, "Approval requested for 1 notification(s).")]
    assert own == [(ERROR, "Bürgerbüro geschlossen: A second person must approve what you wrote.")]
    assert approved == [(SUCCESS, "1 notification(s) approved.")]
    notification.refresh_from_db()
    assert (notification.status, notification.approved_by) == ("sent", colleague.user)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"accepted"}
    assert act(author, "cancel", notification) == [
        (ERROR, "Bürgerbüro geschlossen: Not possible while the notification is sent.")
    ]


@pytest.mark.django_db
def test_cancel_before_sending(author):
    notification = draft_by(author)

    messages = act(author, "cancel", notification)

    assert messages == [(SUCCESS, "1 notification(s) cancelled.")]
    notification.refresh_from_db()
    assert notification.status == "cancelled"


@pytest.mark.django_db
def test_the_fast_path_is_on_the_notifications_page_not_in_the_list(author, colleague, subscribers):
    # It needs a reason, which a list action cannot ask for: the page asks (test_notification_workflow_admin).
    notification = draft_by(author)
    author.user.user_permissions.add(Permission.objects.get(codename="send_emergency_outage"))

    offered = author.get(NOTIFICATIONS).context["action_form"].fields["action"].choices
    forged = act(author, "send_emergency", notification)

    assert "send_emergency" not in dict(offered)
    assert forged == [(WARNING, "No action selected.")]
    notification.refresh_from_db()
    assert notification.status == "draft"


@pytest.mark.django_db
def test_a_fast_path_send_is_reviewed_by_a_colleague_from_the_list(
    author, colleague, subscribers, django_capture_on_commit_callbacks
):
    notification = draft_by(author)
    author.user.user_permissions.add(Permission.objects.get(codename="send_emergency_outage"))
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_send_emergency(
            notification=notification, actor=author.user, reason="Hotline ausgefallen"
        )

    own_review = act(author, "review", notification)
    review = act(colleague, "review", notification)

    assert own_review == [(ERROR, "Bürgerbüro geschlossen: Another member of Kommunikation must review.")]
    assert review == [(SUCCESS, "1 emergency send(s) reviewed.")]
    notification.refresh_from_db()
    assert (notification.status, notification.emergency, notification.needs_review) == ("sent", True, False)
    assert list(notification.audit_entries.values_list("action", flat=True)) == [
        "created",
        "emergency_send",
        "sending_started",
        "sending_finished",
        "reviewed",
    ]


@pytest.mark.django_db
def test_a_test_send_goes_to_the_own_test_devices(author, subscribers, django_capture_on_commit_callbacks):
    notification = draft_by(author)
    refused = act(author, "send_test", notification)
    phone = InstallationFactory(
        push_token="token-admin-own-phone-0000001", push_token_kind="registration_token"
    )
    StaffDevice.objects.create(paired_at=timezone.now(), user=author.user, installation=phone)

    with django_capture_on_commit_callbacks(execute=True):
        sent = act(author, "send_test", notification)

    pair_first = 'Pair your phone first: "Pair my phone" under test devices in the workspace.'
    assert refused == [(ERROR, f"Bürgerbüro geschlossen: {pair_first}")]
    assert sent == [(SUCCESS, "Test sent for 1 notification(s).")]
    assert list(Delivery.objects.values_list("installation_id", flat=True)) == [phone.pk]
    assert Notification.objects.get(test_of=notification).status == "sent"


# --- Reading


@pytest.mark.django_db
def test_a_sent_notification_is_read_only_with_statistics_and_audit_log(
    author, colleague, subscribers, django_capture_on_commit_callbacks
):
    notification = draft_by(author)
    act(author, "request_approval", notification)
    with django_capture_on_commit_callbacks(execute=True):
        act(colleague, "approve", notification)

    page = author.get(f"{NOTIFICATIONS}{notification.pk}/change/")
    post = author.post(f"{NOTIFICATIONS}{notification.pk}/change/", form_data(title_de="Zu spät"))

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    html = page.content.decode()
    assert "<tr><th>accepted by FCM</th><td>2</td></tr>" in html
    assert "<tr><th>targeted</th><td>2</td></tr>" in html
    assert "Bürgerbüro geschlossen" in html
    log = [entry["what"] for entry in page.context["workflow"]["log"]]
    assert log == [
        "draft written",
        "submitted for approval",
        "approved",
        "sending started",
        "sending finished",
    ]
    assert post.status_code == 403
    assert Notification.objects.get(pk=notification.pk).content == OUTAGE


@pytest.mark.django_db
def test_the_list_filters_and_leaves_out_personal_notifications(author, subscribers, report_category):
    draft = draft_by(author)
    flagged = draft_by(author)
    Notification.objects.filter(pk=flagged.pk).update(needs_review=True)
    services.notify_installations(
        installations=subscribers,
        content={"de": {"title": "Ihre Meldung", "body": "Erledigt."}},
        category="report_update",
    )

    everything = author.get(NOTIFICATIONS).context["cl"].result_list
    to_review = author.get(NOTIFICATIONS, {"needs_review__exact": "1"}).context["cl"].result_list
    by_author = author.get(NOTIFICATIONS, {"created_by__id__exact": author.user.pk}).context["cl"].result_list

    assert {n.pk for n in everything} == {draft.pk, flagged.pk}
    assert [n.pk for n in to_review] == [flagged.pk]
    assert len(by_author) == 2


@pytest.mark.django_db
def test_triage_has_no_notification_workspace(db):
    assert browser("Triage").get(NOTIFICATIONS).status_code == 403


# --- Audit log


@pytest.mark.django_db
def test_the_audit_log_is_read_only_in_the_admin(author):
    notification = draft_by(author)
    entry = notification.audit_entries.get()
    url = f"/admin/push/auditentry/{entry.pk}/"

    listed = author.get("/admin/push/auditentry/")
    page = author.get(f"{url}change/")

    assert [e.pk for e in listed.context["cl"].result_list] == [entry.pk]
    assert "draft written" in listed.content.decode()  # the step in words, not its code
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert author.get("/admin/push/auditentry/add/").status_code == 403
    assert author.post(f"{url}change/", {"action": "hacked"}).status_code == 403
    assert author.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    superuser = browser(superuser=True)
    assert superuser.get("/admin/push/auditentry/add/").status_code == 403
    assert superuser.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).action == "created"


# --- Test devices


@pytest.mark.django_db
def test_nobody_marks_an_installation_as_test_device_in_the_admin(author, colleague):
    # Test devices come only from pairing; adding or editing a row would bypass the four-eyes rule.
    phone = InstallationFactory()
    own = StaffDevice.objects.create(paired_at=timezone.now(), user=author.user, installation=phone)
    post = {"installation": str(InstallationFactory().pk), "label": "x", "user": str(author.user.pk)}

    for client in (author, browser("Administration"), browser(superuser=True)):
        assert client.get("/admin/push/staffdevice/add/").status_code == 403
        assert client.post("/admin/push/staffdevice/add/", post).status_code == 403
        assert client.post(f"/admin/push/staffdevice/{own.pk}/change/", post).status_code == 403

    assert list(StaffDevice.objects.values_list("installation_id", flat=True)) == [phone.pk]


@pytest.mark.django_db
def test_staff_see_and_unpair_only_their_own_test_devices(author, colleague):
    own = StaffDevice.objects.create(
        paired_at=timezone.now(), user=author.user, installation=InstallationFactory()
    )
    theirs = StaffDevice.objects.create(
        paired_at=timezone.now(), user=colleague.user, installation=InstallationFactory()
    )

    listed = author.get("/admin/push/staffdevice/").context["cl"].result_list
    other = author.post(f"/admin/push/staffdevice/{theirs.pk}/delete/", {"post": "yes"})
    unpaired = author.post(f"/admin/push/staffdevice/{own.pk}/delete/", {"post": "yes"})

    assert [d.pk for d in listed] == [own.pk]
    assert other.status_code == 302  # "does not exist" for others' devices
    assert unpaired.status_code == 302
    assert list(StaffDevice.objects.values_list("pk", flat=True)) == [theirs.pk]
    entry = AuditEntry.objects.get(action="device_unpaired")
    assert (entry.actor, entry.notification, entry.changes["user"]) == (author.user, None, author.user.pk)


@pytest.mark.django_db
def test_administration_sees_and_unpairs_every_test_device(author):
    StaffDevice.objects.create(paired_at=timezone.now(), user=author.user, installation=InstallationFactory())
    administration = browser("Administration")

    listed = administration.get("/admin/push/staffdevice/").context["cl"].result_list
    unpaired = administration.post(
        "/admin/push/staffdevice/",
        {"action": "delete_selected", "_selected_action": [listed[0].pk], "post": "yes"},
    )

    assert len(listed) == 1
    assert unpaired.status_code == 302
    assert not StaffDevice.objects.exists()
    assert AuditEntry.objects.get(action="device_unpaired").actor == administration.user  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_pair_my_phone_shows_a_one_time_code_the_app_pairs_with(author):
    phone = InstallationFactory()

    page = author.get("/admin/push/staffdevice/pair/")
    shown = author.post("/admin/push/staffdevice/pair/")
    code = shown.context["code"]
    paired = device_client_for(phone).post("/api/v1/devices/me/pair", {"code": code}, format="json")

    assert page.status_code == 200
    assert "code" not in page.context  # a page view issues no code
    assert "Pair my phone" in author.get("/admin/push/staffdevice/").content.decode()
    assert shown.status_code == 200
    assert code in shown.content.decode()
    assert paired.status_code == 201, paired.json()
    assert StaffDevice.objects.get(installation=phone).user == author.user
    assert browser("Triage").get("/admin/push/staffdevice/pair/").status_code == 403


# --- Topics


@pytest.mark.django_db
def test_administration_edits_topic_names_but_not_keys(db):
    administration = browser("Administration")
    topic = Topic.objects.get(key="stoerungen")
    url = f"/admin/push/topic/{topic.pk}/change/"

    response = administration.post(
        url,
        {
            "key": "hacked",
            "kind": "news",
            "name_de": "Störungen und Ausfälle",
            "name_en": "Outages",
            "description_de": topic.description_de,
            "description_en": topic.description_en,
            "default_subscribed": "on",
            "position": 1,
        },
    )

    assert response.status_code == 302
    topic.refresh_from_db()
    assert (topic.key, topic.kind, topic.name_de) == ("stoerungen", "outage", "Störungen und Ausfälle")
    assert administration.get("/admin/push/topic/add/").status_code == 403
    assert administration.post(f"/admin/push/topic/{topic.pk}/delete/", {"post": "yes"}).status_code == 403
