"""Request ids for log records: set by the request middleware, read by every log line of that request."""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# An upstream proxy's id is reused only when it looks like an id, never arbitrary text into our logs.
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def new_request_id(incoming: str | None = None) -> str:
    if incoming and _INCOMING_ID.match(incoming):
        return incoming
    return secrets.token_hex(8)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True
