"""A real SMTP server on loopback for tests that follow an e-mail out of a worker (aiosmtpd)."""

from __future__ import annotations

import socket
from typing import Any

from aiosmtpd.controller import Controller


class RefusingThenAccepting:
    """aiosmtpd handler: answers ``reply`` (451: try again later; 421: closing the connection) to the first
    ``refusals`` messages."""

    def __init__(self, refusals: int, reply: str = "451 4.3.0 Mail server busy, try again later") -> None:
        self.refusals = refusals
        self.reply = reply
        self.accepted: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals > 0:
            self.refusals -= 1
            return self.reply
        self.accepted.append(envelope)
        return "250 OK"


def free_port() -> int:
    """aiosmtpd's start-up check connects to its port, so it cannot be given port 0."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def smtp_server(mailbox: RefusingThenAccepting) -> tuple[Controller, int]:
    """A started SMTP server on a free loopback port that hands every message to ``mailbox``."""
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port
