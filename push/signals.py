"""Hooks other apps connect to without push knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the erasure transaction, before the installation row is deleted, with
# ``installation=<Installation>``. Receivers erase or anonymise what links to it (reports, reminders).
# A receiver that raises aborts the erasure, so nothing is left half-erased.
installation_erasing = Signal()
