"""Push's demo data (``manage.py load_demo``): installations, and the Mitmach-Aktion "Wunschfenster".

Demo installations: phones in every Stadtteil, on Android and iOS, in German, English and Turkish, with
the topics people choose. Without them the workspace's audience estimate says 0 and nothing could be
submitted under ``make run``. Their tokens reach no phone: the demo runs the console push backend.

Idempotent: the installations have fixed ids, so a second run finds them and changes nothing.
"""

from __future__ import annotations

import random
import secrets
import uuid
from datetime import timedelta
from typing import TextIO

from django.utils import timezone

from casapp.city import STADTTEILE
from casapp.models import hash_secret
from push.models import Installation, PushTokenKind, Topic
from push.participation import demo as participation_demo

DEMO_INSTALLATIONS = 240
_NAMESPACE = uuid.UUID("5f0c6e52-6a35-4d1e-9a7e-2f1f3c0d7a11")


def load_demo(*, stdout: TextIO) -> None:
    _installations_load(stdout=stdout)
    participation_demo.load_demo(stdout=stdout)


def _installations_load(*, stdout: TextIO) -> None:
    topics = {topic.key: topic for topic in Topic.objects.all()}
    if "stoerungen" not in topics:
        stdout.write("Push: no topics (migrations not applied?), demo installations skipped.\n")
        return
    rng = random.Random(14)  # noqa: S311  (demo data, not a secret)
    now = timezone.now()
    created = 0
    for index in range(DEMO_INSTALLATIONS):
        pk = uuid.uuid5(_NAMESPACE, f"demo-installation-{index}")
        platform = "android" if rng.random() < 0.6 else "ios"
        draw = rng.random()
        locale = "de" if draw < 0.85 else ("en" if draw < 0.95 else "tr")
        chosen = ["stoerungen"] + [
            key for key, share in (("aktionen", 0.4), ("nachrichten", 0.3)) if rng.random() < share
        ]
        seen = now - timedelta(hours=rng.randint(0, 24 * 20))
        installation, was_created = Installation.objects.get_or_create(
            pk=pk,
            defaults={
                "secret_hash": hash_secret(
                    secrets.token_urlsafe(32)
                ),  # nobody holds it: no app calls as these
                "platform": platform,
                "app_version": "1.4.0",
                "locale": locale,
                "push_token": f"demo-{pk}",
                "push_token_kind": PushTokenKind.INSTALLATION_ID,
                "stadtteil": STADTTEILE[index % len(STADTTEILE)],
                "last_seen_at": seen,
            },
        )
        if was_created:
            installation.topics.set([topics[key] for key in chosen if key in topics])
            created += 1
    if created:
        stdout.write(f"Push: {created} demo installations (console backend: their tokens reach no phone).\n")
