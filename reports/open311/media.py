"""Fetching a partner's ``media_url`` links into photos, for hosts the operator listed, by a worker.

Off by default: without ``OPEN311_MEDIA_FETCH_HOSTS`` a link stays a link. When a host is listed, a link to
it is fetched by ``reports.open311.tasks.fetch_partner_media`` after the request is filed, never in the
request, and the picture goes through the app's photo pipeline (``reports.photos``).

The fetch is the server making a request on a partner's word, so it is fenced (server-side request forgery):
- only ``http`` and ``https``, only listed hosts, on every hop of a redirect (at most
  ``OPEN311_MEDIA_FETCH_MAX_REDIRECTS``);
- the host is resolved and **every** address it resolves to must be public (no private, loopback,
  link-local, shared, reserved, multicast or unspecified address, also not inside an IPv4-mapped, 6to4,
  Teredo or NAT64 IPv6 address); the connection then goes to the checked address itself (TLS still
  verifies the host name), so a second DNS answer cannot swap it (DNS rebinding);
- at most ``reports.photos.MAX_UPLOAD_BYTES``, an image content type, ``OPEN311_MEDIA_FETCH_SECONDS`` for
  the whole fetch.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings
from django.utils import timezone

from reports.photos import MAX_UPLOAD_BYTES
from reports.services import MAX_PHOTOS

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

REDIRECTS = (301, 302, 303, 307, 308)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"})
CHUNK = 64 * 1024
USER_AGENT = "CAS-App-Maengelmelder/1 (Open311 media fetch)"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class MediaRefused(Exception):
    """The link will never give a photo as it is (not allowed, not an image, too large): not retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MediaUnavailable(Exception):
    """The link may work later (unreachable, too slow, a server error): the task may try again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def host_listed(host: str) -> bool:
    """``host`` is in OPEN311_MEDIA_FETCH_HOSTS: exactly, or below an entry that starts with a dot."""
    host = host.lower().rstrip(".")
    for entry in settings.OPEN311_MEDIA_FETCH_HOSTS:
        if entry.startswith("."):
            if host.endswith(entry) and len(host) > len(entry):
                return True
        elif host == entry:
            return True
    return False


def fetch_planned(*, links: Sequence[str], photos_stored: int) -> list[str]:
    """The links a worker will fetch: those to listed hosts, as many as the photo limit leaves room for."""
    room = max(0, MAX_PHOTOS - photos_stored)
    return [link for link in links if host_listed(urlsplit(link).hostname or "")][:room]


def address_public(address: IPAddress) -> bool:
    """A public unicast address; addresses that embed an IPv4 address are judged by that one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_public(embedded)
    if settings.OPEN311_MEDIA_FETCH_ALLOW_LOOPBACK and address.is_loopback:
        return True
    return address.is_global and not address.is_multicast


def public_addresses(host: str, port: int, *, resolve: Resolver = socket.getaddrinfo) -> list[IPAddress]:
    """Every address ``host`` resolves to, if all of them are public; else ``MediaRefused``.

    One private address among public ones refuses the host: which one a connection would use is not ours
    to predict."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        try:
            infos = resolve(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise MediaUnavailable("unresolvable") from error
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    else:
        addresses = [literal]
    if not addresses:
        raise MediaUnavailable("unresolvable")
    if not all(address_public(address) for address in addresses):
        raise MediaRefused("address_not_public")
    return addresses


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: list[IPAddress]


def _checked(url: str, *, resolve: Resolver) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise MediaRefused("scheme_not_allowed")
    host = (parts.hostname or "").rstrip(".")
    if not host or parts.username is not None or parts.password is not None:
        raise MediaRefused("host_not_listed")
    if not host_listed(host):
        raise MediaRefused("host_not_listed")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise MediaRefused("invalid_url") from error
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return _Target(parts.scheme, host, port, path, public_addresses(host, port, resolve=resolve))


def media_fetch(url: str, *, resolve: Resolver = socket.getaddrinfo) -> bytes:
    """The bytes of the image at ``url``, fetched within the fences above; ``MediaRefused`` or
    ``MediaUnavailable`` (with a short machine-readable reason) otherwise."""
    deadline = time.monotonic() + settings.OPEN311_MEDIA_FETCH_SECONDS
    for _hop in range(settings.OPEN311_MEDIA_FETCH_MAX_REDIRECTS + 1):
        target = _checked(url, resolve=resolve)
        response = _request(target, deadline=deadline)
        try:
            if response.status in REDIRECTS:
                location = response.headers.get("Location", "")
                if not location:
                    raise MediaRefused("redirect_without_location")
                url = urljoin(url, location)
                continue
            if response.status >= 500 or response.status == 429:
                raise MediaUnavailable(f"http_{response.status}")
            if response.status != 200:
                raise MediaRefused(f"http_{response.status}")
            return _body(response, deadline=deadline)
        finally:
            response.release_conn()
            response.close()
    raise MediaRefused("too_many_redirects")


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise MediaUnavailable("too_slow")
    return remaining


def _request(target: _Target, *, deadline: float) -> Any:
    """A GET to the checked addresses in turn, never to what the name resolves to by then."""
    default_port = 443 if target.scheme == "https" else 80
    host_header = f"[{target.host}]" if ":" in target.host else target.host
    if target.port != default_port:
        host_header = f"{host_header}:{target.port}"
    last_error: Exception | None = None
    for address in target.addresses:
        timeout = urllib3.Timeout(
            connect=min(5.0, _remaining(deadline)), read=min(10.0, _remaining(deadline))
        )
        pool: urllib3.HTTPConnectionPool
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                str(address),
                target.port,
                timeout=timeout,
                retries=False,
                maxsize=1,
                cert_reqs="CERT_REQUIRED",
                server_hostname=target.host,
                assert_hostname=target.host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(
                str(address), target.port, timeout=timeout, retries=False, maxsize=1
            )
        try:
            return pool.urlopen(
                "GET",
                target.path,
                headers={"Host": host_header, "User-Agent": USER_AGENT, "Accept": "image/*"},
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.TimeoutError as error:
            last_error = error
        except urllib3.exceptions.SSLError as error:
            raise MediaRefused("tls_invalid") from error
        except urllib3.exceptions.HTTPError as error:
            last_error = error
    raise MediaUnavailable(
        "too_slow" if isinstance(last_error, urllib3.exceptions.TimeoutError) else "unreachable"
    )


def _body(response: Any, *, deadline: float) -> bytes:
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES:
        raise MediaRefused("not_an_image")
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise MediaRefused("too_large")
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            _remaining(deadline)
            chunk = response.read1(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise MediaRefused("too_large")
            chunks.append(chunk)
    except urllib3.exceptions.TimeoutError as error:
        raise MediaUnavailable("too_slow") from error
    except urllib3.exceptions.HTTPError as error:
        raise MediaUnavailable("unreachable") from error
    return b"".join(chunks)


def outcome(url: str, result: str, reason: str = "") -> dict[str, str]:
    return {"url": url, "outcome": result, "reason": reason, "at": timezone.now().isoformat()}
