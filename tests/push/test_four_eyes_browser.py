"""Service tier, in a real browser: the outage morning with two people in Kommunikation.

Anna writes an outage notice naming the city's hotline "02305 106-0" in the workspace and chooses a picture
from her disk (made with Pillow). Before she saves, she sees it on the lock screens of the preview (Android
and iOS, in German, with the picture) and the audience it reaches (the two subscribed phones); then she
submits it on its page. Paul, her colleague, gets the e-mail (a real SMTP server on loopback, sent by a real
Celery worker), sees the count on the workspace index, opens the link and approves on the notification's
page (Anna herself is offered no "Freigeben", and her forged POST is refused). The phones get the push (the
fake FCM server, through firebase-admin), with the picture at its address on this server that does not
expire: ``notification.image`` for Android, ``apns.fcm_options.image`` with ``mutable-content`` for iOS.
Anna is e-mailed the approval and the figures; the page shows the figures and the audit log in German.
Screenshots go to ``.pytest-media/four-eyes/``; ``writing.png`` is the form with the preview and audience.

The database is touched only before the browser starts and after it closed (Django refuses ORM calls
from the thread running Playwright's event loop).
"""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from push.models import AuditEntry, Notification, Topic, WorkflowMail
from tests.browser import CHROMIUM, CHROMIUM_ARGS, MEDIA, PASSWORD, needs_chromium, offsite
from tests.factories import InstallationFactory, StaffFactory
from tests.mail import RefusingThenAccepting, smtp_server
from tests.worker import push_and_mail_worker, wait_for

pytestmark = [pytest.mark.services, needs_chromium]

TITLE = "Störung: Bürgertelefon nicht erreichbar"
BODY = "Die Rufnummern der Bürgerbüros sind gestört. Bitte nutzen Sie die Zentrale 02305 106-0."
TOKENS = {"android": "token-four-eyes-android-000000001", "ios": "token-four-eyes-ios-00000000000001"}
ANNA, PAUL = "anna@castrop-rauxel.de", "paul@castrop-rauxel.de"
IMAGE_PATH = re.compile(r"^/push/images/[0-9a-f-]{36}\.jpg$")


def _picture(path: Path) -> Path:
    """A small PNG as Anna might have it on her disk: a sign saying the lines are down."""
    picture = Image.new("RGB", (640, 320), (200, 30, 40))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((40, 40, 600, 280), outline=(255, 255, 255), width=12)
    draw.line((80, 80, 560, 240), fill=(255, 255, 255), width=16)
    picture.save(path, format="PNG")
    return path


def _mails_to(handler: RefusingThenAccepting, address: str) -> list[Any]:
    return [
        message_from_bytes(envelope.content, policy=default_policy)
        for envelope in handler.accepted
        if address in envelope.rcpt_tos
    ]


def _subject(message: Any) -> str:
    return " ".join(str(message["Subject"]).split())  # unfolded


def _text(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


@pytest.mark.django_db(transaction=True)
def test_an_outage_notice_goes_out_after_a_colleague_approves_it_on_its_page(
    live_server: Any, fake_fcm: Any, tmp_path: Path, settings: Any
) -> None:
    from playwright.sync_api import expect, sync_playwright

    # The e-mails are written where the step happens: the live server's process, and the worker.
    settings.WORKSPACE_BASE_URL = live_server.url

    # --- the database, before the browser starts
    anna = StaffFactory(
        username="a.autorin", first_name="Anna", last_name="Autorin", email=ANNA, roles=["Kommunikation"]
    )
    paul = StaffFactory(
        username="p.presse", first_name="Paul", last_name="Presse", email=PAUL, roles=["Kommunikation"]
    )
    outages = Topic.objects.get(key="stoerungen")
    for platform, token in TOKENS.items():
        phone = InstallationFactory(
            platform=platform, push_token=token, push_token_kind="registration_token", locale="de"
        )
        phone.topics.add(outages)
    mailbox = RefusingThenAccepting(refusals=0)
    smtp, smtp_port = smtp_server(mailbox)
    worker = push_and_mail_worker(
        fake_fcm=fake_fcm, tmp_path=tmp_path, smtp_port=smtp_port, site_url=live_server.url
    )
    shots = MEDIA / "four-eyes"
    shots.mkdir(parents=True, exist_ok=True)
    picture = _picture(tmp_path / "stoerung.png")
    worker.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:

                def session(username: str, then: str) -> Any:
                    context = browser.new_context(locale="de-DE", viewport={"width": 1440, "height": 1000})
                    context.route(offsite(live_server.url), lambda r: r.abort())
                    page = context.new_page()
                    page.set_default_timeout(20_000)
                    page.goto(f"{live_server.url}/admin/login/?next={then}")
                    page.fill("input[name=username]", username)
                    page.fill("input[name=password]", PASSWORD)
                    page.click("input[type=submit]")
                    return page

                # 1. Anna writes the outage notice with the hotline, chooses a picture, and sees the lock
                #    screens and the audience before she saves it.
                anna_page = session(anna.username, "/admin/push/notification/add/")
                anna_page.wait_for_url(re.compile(r"/admin/push/notification/add/$"))
                anna_page.select_option("#id_kind", "outage")
                anna_page.fill("#id_title_de", TITLE)
                anna_page.fill("#id_body_de", BODY)
                anna_page.select_option("#id_audience_kind", "all")
                anna_page.set_input_files("#id_image_upload", str(picture))
                preview = anna_page.locator("#push-preview")
                for platform in ("android", "ios"):
                    screen = preview.locator(f'.push-lock[data-platform="{platform}"][data-language="de"]')
                    expect(screen.locator(".push-lock__title")).to_have_text(TITLE)
                    expect(screen.locator(".push-lock__body")).to_have_text(BODY)
                    shown = screen.locator("img.push-lock__image")
                    expect(shown).to_be_visible()
                    expect(shown).to_have_attribute("src", re.compile("^data:image/png;base64,"))
                    assert shown.evaluate("image => image.complete && image.naturalWidth") == 640
                audience = anna_page.locator("#push-audience")
                expect(audience.locator(".push-preview__audience")).to_have_attribute("data-total", "2")
                expect(audience).to_contain_text("Erreicht 2 Geräte")
                expect(audience).to_contain_text("Android 1, iOS 1")
                anna_page.locator("#push-preview").scroll_into_view_if_needed()
                anna_page.screenshot(path=str(shots / "writing.png"), full_page=True)
                anna_page.click("input[name=_continue]")
                anna_page.wait_for_url(re.compile(r"/admin/push/notification/\d+/change/$"))
                expect(anna_page.locator(".errornote")).to_have_count(0)
                change_url = anna_page.url
                number = int(change_url.rstrip("/").split("/")[-2])
                # Saved: the picture is now served by this server, at the address the phones will load.
                stored = anna_page.locator("#push-preview img.push-lock__image").first
                expect(stored).to_have_attribute("src", IMAGE_PATH)
                image_path = str(stored.get_attribute("src"))
                assert stored.evaluate("image => image.complete && image.naturalWidth") == 640
                panel = anna_page.locator("#workflow")
                expect(panel.locator("button", has_text="Freigeben")).to_have_count(0)

                # 2. She submits it on its page; she is offered no approval of her own.
                panel.locator("button", has_text="Zur Freigabe vorlegen").click()
                expect(anna_page.locator("ul.messagelist li.success")).to_contain_text(
                    "Zur Freigabe vorgelegt"
                )
                expect(panel).to_contain_text("wartet auf Freigabe")
                expect(panel).to_contain_text("Freigeben muss eine Kollegin oder ein Kollege")
                expect(panel.locator("button", has_text="Freigeben")).to_have_count(0)
                anna_page.screenshot(path=str(shots / "submitted.png"), full_page=True)
                # A forged POST of "approve" by the author: the server refuses whatever the page shows.
                token = anna_page.locator("#workflow input[name=csrfmiddlewaretoken]").first.input_value()
                forged = anna_page.request.post(
                    f"{change_url}../workflow/approve/",
                    form={"csrfmiddlewaretoken": token},
                    headers={"Referer": change_url},
                )
                assert forged.ok  # followed back to the page, which says no
                assert "Eine zweite Person muss Ihre Benachrichtigung freigeben" in forged.text()

                # 3. Paul is told by e-mail, in German, with the link.
                assert wait_for(lambda: _mails_to(mailbox, PAUL), timeout=60), worker.log_path.read_text()[
                    -3000:
                ]
                [waiting] = _mails_to(mailbox, PAUL)
                assert _subject(waiting) == f"Wartet auf Ihre Freigabe: „{TITLE}“"
                waiting_text = _text(waiting)
                assert "Anna Autorin bittet um ein zweites Augenpaar" in waiting_text
                assert "02305 106-0" in waiting_text
                link = f"{live_server.url}/admin/push/notification/{number}/change/"
                assert link in waiting_text
                assert not _mails_to(mailbox, ANNA)

                # 4. The index counts it for him; he opens the link and approves.
                paul_page = session(paul.username, "/admin/")
                paul_page.wait_for_url(re.compile(r"/admin/$"))
                expect(paul_page.locator(".workspace-approvals")).to_contain_text(
                    "1 Benachrichtigung wartet auf Ihre Freigabe"
                )
                paul_page.screenshot(path=str(shots / "index.png"))
                paul_page.goto(link)
                paul_panel = paul_page.locator("#workflow")
                expect(paul_panel.locator("button", has_text="Ablehnen")).to_be_visible()
                paul_page.screenshot(path=str(shots / "to-approve.png"), full_page=True)
                paul_panel.locator("button", has_text="Freigeben").click()
                expect(paul_page.locator("ul.messagelist li.success")).to_contain_text("Freigegeben")
                # Approved, the page can no longer change the text, and still shows what the phones show.
                paul_page.wait_for_load_state("networkidle")
                expect(paul_page.locator("#push-preview .push-lock").first).to_contain_text(TITLE)

                # 5. The phones get it; Anna hears of the approval and of the figures.
                assert wait_for(
                    lambda: all(fake_fcm.messages(token) for token in TOKENS.values()), timeout=60
                ), worker.log_path.read_text()[-3000:]
                assert wait_for(lambda: len(_mails_to(mailbox, ANNA)) == 2, timeout=60), (
                    worker.log_path.read_text()[-3000:]
                )

                # 6. The page shows the figures and the audit log in German.
                def finished() -> bool:
                    paul_page.goto(link)
                    return "Versand abgeschlossen" in paul_page.locator("#audit-log").inner_text()

                assert wait_for(finished, timeout=30)
                log = paul_page.locator("#audit-log")
                figures = paul_page.locator(".field-statistics table")
                expect(figures.locator("tr", has_text="von FCM angenommen")).to_contain_text("2")
                expect(figures.locator("tr", has_text="fehlgeschlagen")).to_contain_text("0")
                expect(log).to_contain_text("von FCM angenommen: 2")
                for step in (
                    "Entwurf geschrieben",
                    "zur Freigabe vorgelegt",
                    "freigegeben",
                    "Versand gestartet",
                ):
                    expect(log).to_contain_text(step)
                expect(log).to_contain_text("Status: wartet auf Freigabe → geplant")
                expect(log).to_contain_text("Paul Presse")
                expect(log).not_to_contain_text("approval_requested")
                log.scroll_into_view_if_needed()
                paul_page.screenshot(path=str(shots / "sent.png"), full_page=True)
                paul_page.goto(f"{live_server.url}/admin/push/auditentry/?notification={number}")
                expect(paul_page.locator("#result_list")).to_contain_text("Anna Autorin")
                expect(paul_page.locator("#result_list")).to_contain_text("Versand abgeschlossen")
                paul_page.screenshot(path=str(shots / "audit-log.png"), full_page=True)
            finally:
                browser.close()
    finally:
        worker.stop()
        smtp.stop()

    # --- what FCM received and what Anna was told
    image_url = live_server.url + image_path  # absolute: the phones load it from this server
    for platform, token in TOKENS.items():
        [pushed] = fake_fcm.messages(token)
        message = pushed["message"]
        assert message["notification"]["title"] == TITLE
        assert "02305 106-0" in message["notification"]["body"]
        if platform == "android":  # Android shows the notification's image, unless it has its own
            android = message["android"].get("notification", {})
            assert android.get("image", message["notification"].get("image")) == image_url
        else:  # iOS: the app's notification service extension loads fcm_options.image
            assert message["apns"]["fcm_options"]["image"] == image_url
            assert message["apns"]["payload"]["aps"]["mutable-content"] == 1
    approval, figures = sorted(_mails_to(mailbox, ANNA), key=lambda m: "Freigegeben" not in _subject(m))
    assert _subject(approval) == f"Freigegeben: „{TITLE}“"
    assert "Paul Presse hat Ihre Benachrichtigung am" in _text(approval)
    assert _subject(figures) == f"Gesendet (gesendet): „{TITLE}“, 2 von 2 Installationen"
    assert "Von FCM angenommen: 2" in _text(figures)

    # --- the database, after the browser closed
    notification = Notification.objects.get(pk=number)
    assert (notification.status, notification.created_by, notification.approved_by) == ("sent", anna, paul)
    assert list(AuditEntry.objects.filter(notification=notification).values_list("action", flat=True)) == [
        "created",
        "approval_requested",
        "approved",
        "sending_started",
        "sending_finished",
    ]
    assert not WorkflowMail.objects.filter(sent_at__isnull=True).exists()
