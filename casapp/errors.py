"""Domain errors: raised by services, turned into the API's one error shape by ``casapp.api.errors``.

Services stay free of HTTP; each error names a stable machine code and the status class it belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise


class DomainError(Exception):
    """A request the domain refuses. ``code`` is stable for clients; ``detail`` is shown to people.

    ``extra``: further members of the error body a client can act on (``{"existing_id": 7}``); each is
    documented with the operation that answers it.
    """

    status = 400
    code = "invalid"

    def __init__(
        self,
        detail: str | Promise,
        *,
        code: str | None = None,
        field: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.field = field
        self.extra = dict(extra or {})
        if code is not None:
            self.code = code


class Conflict(DomainError):
    """The request clashes with the current state (already done, not allowed in this state)."""

    status = 409
    code = "conflict"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "permission_denied"
