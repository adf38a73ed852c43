"""Pairing a staff member's own phone as a test device: the only way a test device comes to be.

The workspace shows its owner a one-time code (valid ``PAIRING_CODE_VALID_MINUTES``); the app on the
phone sends it through the device API. A staff member pairs at most ``MAX_TEST_DEVICES`` phones, so a
test send can never stand in for an approved send to many people. Pairing and unpairing are audited.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casapp.errors import Conflict, DomainError
from push.models import (
    MAX_TEST_DEVICES,
    PAIRING_CODE_VALID_MINUTES,
    AuditEntry,
    Installation,
    PairingCode,
    StaffDevice,
)

# No 0/O, 1/I/L: read off a screen and typed into a phone. 32^8 codes, guessed only at the throttle's pace.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def _code_hash(code: str) -> str:
    normalized = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normalized.encode()).hexdigest()


def pairing_code_issue(*, user: User) -> tuple[str, datetime]:
    """A new one-time code for ``user`` and its expiry; the code itself is not stored and shown once."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = timezone.now() + timedelta(minutes=PAIRING_CODE_VALID_MINUTES)
    PairingCode.objects.create(user=user, code_hash=_code_hash(code), expires_at=expires_at)
    return code, expires_at


def _audit(actor: Any, action: str, device: StaffDevice) -> None:
    AuditEntry.objects.create(
        notification=None,
        actor=actor,
        action=action,
        changes={"installation": str(device.installation_id), "user": device.user_id},
    )


@transaction.atomic
def staff_device_pair(*, installation: Installation, code: str, label: str = "") -> StaffDevice:
    """Makes ``installation`` a test device of the code's owner, once per code.

    Unknown, used and expired codes are refused alike (400); a sixth phone is refused (409). Pairing a
    phone already paired to the owner confirms it (and pairs a row from before pairing existed).
    """
    # Looked up by hash: the database compares digests, so timing reveals nothing about valid codes.
    pairing = PairingCode.objects.select_for_update().filter(code_hash=_code_hash(code)).first()
    now = timezone.now()
    if pairing is None or pairing.used_at is not None or pairing.expires_at <= now:
        raise DomainError(
            _("This pairing code is unknown, used or expired. Show a new one in the workspace."),
            code="invalid_pairing_code",
            field="code",
        )
    # The owner's row serializes concurrent pairings, so the cap holds under races.
    owner = User.objects.select_for_update().get(pk=pairing.user_id)
    pairing.used_at = now
    pairing.save(update_fields=["used_at"])
    device = StaffDevice.objects.filter(user=owner, installation=installation).first()
    if device is None:
        if StaffDevice.objects.filter(user=owner).count() >= MAX_TEST_DEVICES:
            raise Conflict(
                _("At most %(n)d test devices per person. Unpair one in the workspace first.")
                % {"n": MAX_TEST_DEVICES},
                code="test_device_limit",
            )
        device = StaffDevice(user=owner, installation=installation)
    device.paired_at = now
    if label:
        device.label = label
    device.save()
    _audit(owner, "device_paired", device)
    return device


@transaction.atomic
def staff_device_unpair(*, device: StaffDevice, actor: User) -> None:
    """Removes a test device; it receives no test sends from now on."""
    _audit(actor, "device_unpaired", device)
    device.delete()
