"""A real SMTP server on loopback for tests that follow an e-mail out of a worker (aiosmtpd)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from django.db import connection


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


class HoldingMailbox:
    """aiosmtpd handler that keeps every sender waiting for its answer until ``release`` is set: the first
    send caught in the middle, with its row locked. What arrives is counted when it arrives."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.accepted: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted.append(envelope)
        self.arrived.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        return "250 OK"


def race_send_and_sweep(
    settings: Any, *, send: Callable[[], object], sweep: Callable[[], object], first: str
) -> list[list[str]]:
    """Points Django's SMTP backend at a ``HoldingMailbox`` on loopback; runs the send task
    (``first="send"``) or the sweep in a thread (with its own database connection) until its e-mail is at
    the mail server and held there, runs the other meanwhile, lets the first finish, then runs both once
    more. Returns the recipients of each e-mail that reached the server."""
    mailbox = HoldingMailbox()
    controller, port = smtp_server(mailbox)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 10
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    first_run, racer = (send, sweep) if first == "send" else (sweep, send)

    def in_own_connection() -> None:
        try:
            first_run()
        finally:
            connection.close()

    sender = threading.Thread(target=in_own_connection)
    sender.start()
    try:
        assert mailbox.arrived.wait(timeout=20), "the first send never reached the mail server"
        racer()
    finally:
        mailbox.release.set()
        sender.join(timeout=20)
    try:
        send()
        sweep()
    finally:
        controller.stop()
    return [list(envelope.rcpt_tos) for envelope in mailbox.accepted]
