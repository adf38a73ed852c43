"""Fetching a partner's media_url links: off unless the operator lists the host; then by a worker after
filing, through the photo pipeline, and fenced against server-side request forgery (loopback, private,
link-local and IPv6 loopback addresses, a redirect from a listed host to a private one, too large, too
slow, not an image). The partner's photo host is a real HTTP server on loopback; the loopback check is
relaxed only through the test-only setting ``OPEN311_MEDIA_FETCH_ALLOW_LOOPBACK``, every other check
stays. Nothing here reaches the internet: the private and link-local addresses are refused before any
connection, and the guard's resolver is given its answers where a name must resolve to them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from reports.models import Category, Report
from reports.open311 import media
from reports.open311.models import PartnerSubmission
from reports.open311.services import partner_media_fetch
from tests.open311.conftest import BASE, Partner, parse_json
from tests.open311.test_partner_intake import FORM, fixmystreet_request
from tests.reports import images

PHOTO = images.phone_jpeg((120, 80), orientation=None, noise=False)
TOO_LARGE = 15 * 1024 * 1024 + 1


class PhotoHost(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), PhotoHandler)
        self.requests: list[tuple[str, str]] = []  # (path, Host header)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class PhotoHandler(BaseHTTPRequestHandler):
    server: PhotoHost

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        route = self.path.split("?")[0]
        try:
            if route == "/photo.jpg":
                self._answer(200, "image/jpeg", PHOTO)
            elif route.startswith("/redirect/"):
                self.send_response(302)
                self.send_header("Location", route.removeprefix("/redirect/").replace("~", "/"))
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif route == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif route == "/declared-too-large.jpg":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(TOO_LARGE))
                self.end_headers()
            elif route == "/endless.jpg":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.end_headers()  # no length: read until the connection closes
                chunk = b"\xff" * 65536
                for _ in range(TOO_LARGE // len(chunk) + 2):
                    self.wfile.write(chunk)
            elif route == "/slow.jpg":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(PHOTO)))
                self.end_headers()
                for offset in range(0, len(PHOTO), 64):
                    self.wfile.write(PHOTO[offset : offset + 64])
                    self.wfile.flush()
                    time.sleep(0.2)
            elif route == "/page.html":
                self._answer(200, "text/html; charset=utf-8", b"<html><body>Foto</body></html>")
            elif route == "/text.jpg":
                self._answer(200, "image/jpeg", b"Bitte schnell reparieren")
            else:
                self._answer(404, "text/plain", b"not found")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetch hung up, as it should

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def photo_host() -> Iterator[PhotoHost]:
    server = PhotoHost()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_listed(settings: Any) -> None:
    """The test server's host listed, and loopback let through (the test-only relaxation)."""
    settings.OPEN311_MEDIA_FETCH_HOSTS = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "localhost"]
    settings.OPEN311_MEDIA_FETCH_ALLOW_LOOPBACK = True


Filing = Callable[[list[str]], Report]


@pytest.fixture
def filing(
    reader: Client, partner: Partner, streetlight: Category, django_capture_on_commit_callbacks: Any
) -> Filing:
    """Files FixMyStreet's request with these media_url links; the commit's callbacks (the fetch task)
    run, eagerly here, before it returns."""

    def file_with_links(links: list[str]) -> Report:
        fields = [field for field in fixmystreet_request(partner) if field[0] != "media_url"]
        fields += [("media_url", link) for link in links]
        with django_capture_on_commit_callbacks(execute=True):
            response = reader.post(f"{BASE}requests.json", urlencode(fields), content_type=FORM)
        assert response.status_code == 200, response.content
        (filed,) = parse_json(response)
        return Report.objects.get(pk=int(filed["service_request_id"]))

    return file_with_links


def outcomes(report: Report) -> list[tuple[str, str]]:
    submission = PartnerSubmission.objects.get(report=report)
    return [(entry["outcome"], entry["reason"]) for entry in submission.media_fetches]


# --- Off unless listed


@pytest.mark.django_db
def test_without_listed_hosts_no_link_is_fetched(
    filing: Filing, photo_host: PhotoHost, settings: Any
) -> None:
    settings.OPEN311_MEDIA_FETCH_ALLOW_LOOPBACK = True
    report = filing([f"{photo_host.base}/photo.jpg"])

    assert partner_media_fetch(submission_id=report.open311_submission.pk) is False
    assert photo_host.requests == []
    assert report.photos.count() == 0
    assert outcomes(report) == []
    assert report.media_url == f"{photo_host.base}/photo.jpg"


@pytest.mark.django_db
def test_a_link_to_a_listed_host_becomes_a_photo_after_filing(
    reader: Client, filing: Filing, photo_host: PhotoHost, loopback_listed: None, administration_client: Any
) -> None:
    link = f"{photo_host.base}/photo.jpg"
    report = filing([link])

    assert [path for path, _host in photo_host.requests] == ["/photo.jpg"]
    assert outcomes(report) == [("stored", "")]
    stored = report.photos.get()
    with stored.image.open("rb") as file:
        images.assert_no_metadata(file.read())
    (public,) = parse_json(reader.get(f"{BASE}requests/{report.pk}.json"))
    assert public["media_url"].endswith(f"/media/reports/photos/{stored.public_id}-{stored.content_hash}.jpg")
    detail = administration_client.get(f"/api/v1/staff/reports/{report.pk}").json()
    assert detail["partner_submission"]["media_fetches"][0]["outcome"] == "stored"
    assert detail["partner_submission"]["media_urls"] == [link]
    # A redelivered task repeats nothing.
    assert partner_media_fetch(submission_id=report.open311_submission.pk) is False
    assert report.photos.count() == 1
    assert len(photo_host.requests) == 1


@pytest.mark.django_db
def test_a_redirect_within_listed_hosts_is_followed(
    filing: Filing, photo_host: PhotoHost, loopback_listed: None
) -> None:
    link = f"{photo_host.base}/redirect/~photo.jpg"
    report = filing([link])

    assert outcomes(report) == [("stored", "")]
    assert [path for path, _host in photo_host.requests] == ["/redirect/~photo.jpg", "/photo.jpg"]


# --- Server-side request forgery


@pytest.mark.django_db
def test_loopback_is_refused_without_the_test_relaxation(
    filing: Filing, photo_host: PhotoHost, settings: Any
) -> None:
    settings.OPEN311_MEDIA_FETCH_HOSTS = ["127.0.0.1", "localhost"]
    links = [f"{photo_host.base}/photo.jpg", f"http://localhost:{photo_host.server_address[1]}/photo.jpg"]
    report = filing(links)

    assert outcomes(report) == [("refused", "address_not_public")] * 2
    assert photo_host.requests == []
    assert report.photos.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "link",
    [
        "http://10.0.0.1/photo.jpg",  # 10/8
        "http://169.254.169.254/latest/meta-data/iam",  # a cloud's metadata service, link-local
        "http://[::1]:8105/photo.jpg",  # IPv6 loopback: refused even with the test's loopback relaxation off
    ],
)
def test_private_link_local_and_ipv6_loopback_addresses_are_refused_before_connecting(
    filing: Filing, settings: Any, link: str
) -> None:
    settings.OPEN311_MEDIA_FETCH_HOSTS = ["10.0.0.1", "169.254.169.254", "::1"]
    report = filing([link])

    assert outcomes(report) == [("refused", "address_not_public")]
    assert report.photos.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target",
    ["http:~~10.0.0.1~photo.jpg", "http:~~169.254.169.254~latest~meta-data", "http:~~192.168.0.1~a.jpg"],
)
def test_a_redirect_from_a_listed_host_to_a_private_address_is_refused(
    filing: Filing, photo_host: PhotoHost, settings: Any, target: str
) -> None:
    # The private targets are listed too: what refuses them is the address check, not the list.
    settings.OPEN311_MEDIA_FETCH_HOSTS = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "192.168.0.1"]
    settings.OPEN311_MEDIA_FETCH_ALLOW_LOOPBACK = True
    report = filing([f"{photo_host.base}/redirect/{target}"])

    assert outcomes(report) == [("refused", "address_not_public")]
    assert [path for path, _host in photo_host.requests] == [f"/redirect/{target}"]


@pytest.mark.django_db
def test_a_redirect_to_a_host_not_listed_is_refused(
    filing: Filing, photo_host: PhotoHost, loopback_listed: None
) -> None:
    link = f"{photo_host.base}/redirect/http:~~photos.elsewhere.example~a.jpg"
    report = filing([link])

    assert outcomes(report) == [("refused", "host_not_listed")]


@pytest.mark.django_db
def test_endless_redirects_stop(
    filing: Filing, photo_host: PhotoHost, loopback_listed: None, settings: Any
) -> None:
    report = filing([f"{photo_host.base}/loop"])

    assert outcomes(report) == [("refused", "too_many_redirects")]
    assert len(photo_host.requests) == settings.OPEN311_MEDIA_FETCH_MAX_REDIRECTS + 1


# --- Size, time, type


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/declared-too-large.jpg", "too_large"),
        ("/endless.jpg", "too_large"),
        ("/page.html", "not_an_image"),
        ("/text.jpg", "unsupported_photo"),
        ("/missing.jpg", "http_404"),
    ],
)
def test_too_large_wrong_type_and_missing_are_refused_for_good(
    filing: Filing, photo_host: PhotoHost, loopback_listed: None, path: str, reason: str
) -> None:
    report = filing([f"{photo_host.base}{path}"])

    assert outcomes(report) == [("refused", reason)]
    assert report.photos.count() == 0
    assert partner_media_fetch(submission_id=report.open311_submission.pk) is False  # not retried


@pytest.mark.django_db
def test_too_slow_fails_for_now_and_may_be_retried(
    filing: Filing, photo_host: PhotoHost, loopback_listed: None, settings: Any
) -> None:
    settings.OPEN311_MEDIA_FETCH_SECONDS = 1
    started = time.monotonic()
    report = filing([f"{photo_host.base}/slow.jpg"])

    assert time.monotonic() - started < 5
    assert outcomes(report) == [("failed", "too_slow")]
    assert report.photos.count() == 0


@pytest.mark.django_db
def test_links_beyond_the_photo_limit_are_not_fetched(
    filing: Filing, photo_host: PhotoHost, loopback_listed: None
) -> None:
    links = [f"{photo_host.base}/photo.jpg?n={n}" for n in range(5)]
    report = filing(links)

    assert report.photos.count() == 5
    assert media.fetch_planned(links=links, photos_stored=5) == []


# --- The address guard itself


def resolver(*answers: str) -> Any:
    calls: list[str] = []

    def resolve(host: str, port: int, **_kwargs: Any) -> list[tuple[Any, ...]]:
        calls.append(host)
        return [(None, None, None, "", (answer, port)) for answer in answers]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.178.1",
        "169.254.169.254",
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a00:1::",  # 6to4 of 10.0.0.1
    ],
)
def test_the_guard_refuses_every_non_public_address(address: str) -> None:
    with pytest.raises(media.MediaRefused, match="address_not_public"):
        media.public_addresses("photos.partner.example", 443, resolve=resolver(address))


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    with pytest.raises(media.MediaRefused, match="address_not_public"):
        media.public_addresses("photos.partner.example", 443, resolve=resolver("93.184.215.14", "10.0.0.7"))


def test_public_addresses_pass_and_literals_are_not_resolved() -> None:
    resolve = resolver("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")

    assert [str(a) for a in media.public_addresses("photos.partner.example", 443, resolve=resolve)] == [
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    ]
    assert [str(a) for a in media.public_addresses("93.184.215.14", 443, resolve=resolve)] == [
        "93.184.215.14"
    ]
    assert resolve.calls == ["photos.partner.example"]


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/a.jpg", "file:///etc/passwd", "gopher://127.0.0.1/"])
def test_only_http_and_https_are_fetched(url: str, loopback_listed: None) -> None:
    with pytest.raises(media.MediaRefused, match="scheme_not_allowed"):
        media.media_fetch(url)


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    photo_host: PhotoHost, settings: Any
) -> None:
    """DNS rebinding: the name is resolved once per hop and the connection made to what was checked."""
    settings.OPEN311_MEDIA_FETCH_HOSTS = ["photos.partner.example"]
    settings.OPEN311_MEDIA_FETCH_ALLOW_LOOPBACK = True
    resolve = resolver("127.0.0.1")
    port = photo_host.server_address[1]

    data = media.media_fetch(f"http://photos.partner.example:{port}/photo.jpg", resolve=resolve)

    assert data == PHOTO
    assert resolve.calls == ["photos.partner.example"]
    assert photo_host.requests == [("/photo.jpg", f"photos.partner.example:{port}")]


def test_subdomains_are_listed_by_a_leading_dot(settings: Any) -> None:
    settings.OPEN311_MEDIA_FETCH_HOSTS = [".fixmystreet.example", "cdn.partner.example"]

    assert media.host_listed("photos.fixmystreet.example")
    assert not media.host_listed("fixmystreet.example.evil.test")
    assert not media.host_listed("evilfixmystreet.example")
    assert media.host_listed("cdn.partner.example")
    assert not media.host_listed("x.cdn.partner.example")


# --- In a real worker (service tier)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_fetches_after_the_answer_and_records_the_refusal(
    reader: Client, partner: Partner, streetlight: Category, photo_host: PhotoHost, settings: Any
) -> None:
    """The request answers without touching the link; the worker (its settings from the environment, so
    without the test-only loopback relaxation) checks the listed host, refuses its loopback address and
    records that, and the photo host never sees a request."""
    from tests.worker import running_worker, wait_for

    settings.OPEN311_MEDIA_FETCH_HOSTS = ["127.0.0.1"]
    link = f"{photo_host.base}/photo.jpg"
    fields = [field for field in fixmystreet_request(partner) if field[0] != "media_url"] + [
        ("media_url", link)
    ]
    with running_worker(concurrency=1, extra_env={"OPEN311_MEDIA_FETCH_HOSTS": "127.0.0.1"}):
        response = reader.post(f"{BASE}requests.json", urlencode(fields), content_type=FORM)
        assert response.status_code == 200, response.content
        (filed,) = parse_json(response)
        report = Report.objects.get(pk=int(filed["service_request_id"]))

        assert wait_for(lambda: outcomes(report) != [], timeout=60)

    assert outcomes(report) == [("refused", "address_not_public")]
    assert photo_host.requests == []
    assert report.photos.count() == 0


@pytest.fixture
def tls_photo_host(tmp_path: Any) -> Iterator[tuple[int, list[str]]]:
    """An https server on loopback with a certificate for photos.partner.example that nobody trusts; it
    notes the server name each TLS handshake asked for (SNI)."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "photos.partner.example")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("photos.partner.example")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    context.sni_callback = lambda _socket, server_name, _context: server_names.append(server_name or "")
    server = PhotoHost()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], server_names
    server.shutdown()
    server.server_close()


def test_https_is_verified_against_the_host_name_while_connecting_to_the_checked_address(
    tls_photo_host: tuple[int, list[str]], settings: Any
) -> None:
    """Connecting to the vetted address does not weaken TLS: the handshake names the host (SNI) and an
    untrusted certificate refuses the link."""
    port, server_names = tls_photo_host
    settings.OPEN311_MEDIA_FETCH_HOSTS = ["photos.partner.example"]
    settings.OPEN311_MEDIA_FETCH_ALLOW_LOOPBACK = True

    with pytest.raises(media.MediaRefused, match="tls_invalid"):
        media.media_fetch(f"https://photos.partner.example:{port}/photo.jpg", resolve=resolver("127.0.0.1"))

    assert server_names == ["photos.partner.example"]
