"""Writes on app installations: register, update, rotate the secret, erase, mark as seen."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from casapp.models import hash_secret
from push.models import Installation, PushTokenKind, Topic
from push.signals import installation_erasing

_UNSET = object()


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _release_token(*, token: str, keep: Installation | None) -> None:
    """Takes a push token away from whichever other installation holds it.

    The caller proved possession of the token (FCM gave it to that phone's app), so the phone was
    reinstalled or its data cleared: the old installation keeps its reports and subscriptions, they
    do not become visible to the new one, it just stops receiving pushes.
    """
    holders = Installation.objects.select_for_update().filter(push_token=token)
    if keep is not None:
        holders = holders.exclude(pk=keep.pk)
    holders.update(push_token=None, push_token_kind="", push_token_updated_at=timezone.now())


def _subscribe_default_topics(installation: Installation) -> None:
    """Links a new installation to every default topic in one statement (INSERT … SELECT).

    ``topics.set(...)`` fetched the topics, then the new row's (empty) links, then inserted: three round
    trips on the app's most frequent write.
    """
    links = Installation.topics.through._meta
    quote = connection.ops.quote_name
    topics = Topic._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(links.db_table)} "  # noqa: S608 - names from the models, values as parameters
            f"({quote(links.get_field('installation').column)}, {quote(links.get_field('topic').column)}) "
            f"SELECT %s, {quote(topics.pk.column)} FROM {quote(topics.db_table)} "
            f"WHERE {quote(topics.get_field('default_subscribed').column)} = %s",
            [Installation._meta.pk.get_db_prep_value(installation.pk, connection), True],
        )


def installation_register(
    *,
    platform: str,
    app_version: str,
    locale: str,
    push_token: str | None = None,
    push_token_kind: str = PushTokenKind.REGISTRATION_TOKEN,
) -> tuple[Installation, str]:
    """Creates an installation and returns it with its secret, which exists nowhere else afterwards."""
    secret = _new_secret()
    now = timezone.now()
    for attempt in range(2):
        try:
            with transaction.atomic():
                if push_token:
                    _release_token(token=push_token, keep=None)
                installation = Installation.objects.create(
                    secret_hash=hash_secret(secret),
                    platform=platform,
                    app_version=app_version,
                    locale=locale,
                    push_token=push_token or None,
                    push_token_kind=push_token_kind if push_token else "",
                    push_token_updated_at=now if push_token else None,
                    last_seen_at=now,
                )
                _subscribe_default_topics(installation)
            return installation, secret
        except IntegrityError:
            # A concurrent registration took the same token between release and insert: once more.
            if attempt:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def installation_update(
    *,
    installation: Installation,
    locale: str | None = None,
    app_version: str | None = None,
    push_token: str | object | None = _UNSET,
    push_token_kind: str | None = None,
) -> Installation:
    """Changes what the app may change. ``push_token=None`` removes the token (push switched off)."""
    fields = ["updated_at"]
    if locale is not None:
        installation.locale = locale
        fields.append("locale")
    if app_version is not None:
        installation.app_version = app_version
        fields.append("app_version")
    if push_token is not _UNSET:
        token = push_token if isinstance(push_token, str) and push_token else None
        if token and token != installation.push_token:
            _release_token(token=token, keep=installation)
        installation.push_token = token
        installation.push_token_kind = (push_token_kind or PushTokenKind.REGISTRATION_TOKEN) if token else ""
        installation.push_token_updated_at = timezone.now()
        # A fresh token re-enables push after FCM had declared the old one dead.
        if token:
            installation.is_active = True
            installation.deactivation_reason = ""
            installation.deactivated_at = None
        fields += [
            "push_token",
            "push_token_kind",
            "push_token_updated_at",
            "is_active",
            "deactivation_reason",
            "deactivated_at",
        ]
    elif push_token_kind is not None and installation.push_token:
        installation.push_token_kind = push_token_kind
        fields.append("push_token_kind")
    installation.save(update_fields=fields)
    return installation


def installation_rotate_secret(*, installation: Installation) -> str:
    """Replaces the secret; the old one stops working at once."""
    secret = _new_secret()
    Installation.objects.filter(pk=installation.pk).update(
        secret_hash=hash_secret(secret), updated_at=timezone.now()
    )
    installation.secret_hash = hash_secret(secret)
    return secret


@transaction.atomic
def installation_erase(*, installation: Installation) -> None:
    """Erases the installation and, through ``installation_erasing`` receivers, what links to it."""
    installation_erasing.send(sender=Installation, installation=installation)
    installation.delete()


def installation_seen(*, installation: Installation) -> None:
    """Records that the app was used, writing at most once per resolution interval (not per request)."""
    now = timezone.now()
    resolution = timedelta(minutes=settings.DEVICE_LAST_SEEN_RESOLUTION_MINUTES)
    if now - installation.last_seen_at < resolution:
        return
    Installation.objects.filter(pk=installation.pk, last_seen_at__lt=now - resolution).update(
        last_seen_at=now, is_stale=False
    )
    installation.last_seen_at, installation.is_stale = now, False
