"""Push's demo data (``manage.py load_demo``): the Mitmach-Aktion "Wunschfenster" with photos sent in."""

from __future__ import annotations

from typing import TextIO

from push.participation import demo as participation_demo


def load_demo(*, stdout: TextIO) -> None:
    participation_demo.load_demo(stdout=stdout)
