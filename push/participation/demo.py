"""Demo data of Mitmach-Aktionen: the "Wunschfenster" campaign, open for photos, with a few sent in.

Idempotent: a second run finds the campaign and changes nothing. The photos are drawn here (a window
with a painted wish) and go through the same pipeline as the app's.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import TextIO

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from push.models import AudienceKind, Notification, NotificationKind, NotificationStatus
from push.participation.models import Participation
from push.participation.services import Decision, submission_create, submission_moderate
from push.services import installation_register

TITLE = "Wunschfenster"
CONTENT = {
    "de": {
        "title": TITLE,
        "body": "Malt euren Weihnachtswunsch ins Fenster, fotografiert ihn und schickt ihn uns mit der App!",
    },
    "en": {
        "title": "Wish window",
        "body": "Paint your Christmas wish into your window, take a photo and send it to us with the app!",
    },
}
# (text, colour of the painted wish, approved?)
WISHES = [
    ("Schnee zu Weihnachten", (40, 110, 200), True),
    ("Frieden für alle", (200, 40, 60), True),
    ("Ein Hund für unsere Familie", (230, 150, 20), False),
]


def load_demo(*, stdout: TextIO) -> None:
    if Participation.objects.filter(notification__content__de__title=TITLE).exists():
        stdout.write("Mitmach-Aktionen: Wunschfenster already there.\n")
        return
    author = User.objects.filter(username="kommunikation").first()
    approver = User.objects.filter(username="presse").first()
    sent_at = timezone.now() - timedelta(days=2)
    with transaction.atomic():
        # Sent two days ago (the four-eyes flow is the notifications' demo; this one shows what follows).
        notification = Notification.objects.create(
            kind=NotificationKind.CAMPAIGN,
            content=CONTENT,
            audience_kind=AudienceKind.ALL,
            status=NotificationStatus.SENT,
            created_by=author,
            approved_by=approver,
            approved_at=sent_at,
            started_at=sent_at,
            finished_at=sent_at,
            expanded=True,
        )
        participation = Participation.objects.create(
            notification=notification,
            description_de=(
                "Ein Foto eures Fensters mit dem gemalten Wunsch, bis zu drei pro Familie. Kinder bitte "
                "nur mit Einverständnis der Eltern."
            ),
            description_en="A photo of your window with the painted wish, up to three per family.",
            closes_at=timezone.now() + timedelta(days=21),
            max_submissions=3,
            created_by=author,
        )
    for text, colour, approve in WISHES:
        installation, _secret = installation_register(platform="android", app_version="1.4.0", locale="de")
        submission = submission_create(
            participation=participation,
            installation=installation,
            photo=io.BytesIO(_window_photo(colour)),
            text=text,
            consent_publication=True,
            is_child=True,
            parental_consent=True,
        )
        if approve:
            submission_moderate(submission=submission, actor=approver, decision=Decision.APPROVE)
    stdout.write(
        f"Mitmach-Aktionen: Wunschfenster open for photos, {len(WISHES)} sent in "
        f"({sum(approve for *_rest, approve in WISHES)} approved).\n"
    )


def _window_photo(colour: tuple[int, int, int]) -> bytes:
    """A window at dusk with a star and a heart painted on it, as a phone JPEG of 1200 x 900."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (1200, 900), (25, 35, 80))
    draw = ImageDraw.Draw(picture)
    for row in range(0, 900, 30):  # the evening sky, darker at the top
        shade = 35 + row // 12
        draw.rectangle((0, row, 1200, row + 30), fill=(shade // 2, shade // 2, shade + 40))
    draw.rectangle((150, 100, 1050, 800), outline=(245, 245, 240), width=40)
    draw.line((600, 100, 600, 800), fill=(245, 245, 240), width=30)
    draw.line((150, 450, 1050, 450), fill=(245, 245, 240), width=30)
    draw.regular_polygon((375, 275, 110), n_sides=5, fill=(250, 215, 60), rotation=18)
    draw.ellipse((720, 540, 830, 650), fill=colour)
    draw.ellipse((810, 540, 920, 650), fill=colour)
    draw.polygon([(725, 620), (915, 620), (820, 740)], fill=colour)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()
