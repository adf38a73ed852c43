"""Open311 GeoReport v2 endpoints: each validates its parameters, calls one selector or service and
answers a ``Document`` that the suffix's renderer writes as XML or JSON."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpResponseBase
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from casapp.api.caching import cache_private, cache_public, request_language
from casapp.api.throttling import ClientRateThrottle
from casapp.errors import DomainError
from reports import selectors as reports_selectors
from reports.models import Report, ReportEvent
from reports.open311 import representations, selectors, services
from reports.open311.api import (
    JURISDICTION_ID,
    Open311View,
    PartnerKeyAuthentication,
    PartnerKeyThrottle,
    check_jurisdiction,
    partner_of,
    present,
)
from reports.open311.documents import Document
from reports.open311.forms import (
    UPDATE_STATUSES_STILL_BROKEN,
    ServiceRequestForm,
    ServiceRequestLookup,
    ServiceRequestQuery,
    ServiceRequestUpdateForm,
    UpdatesQuery,
    attributes,
    media_files,
    media_urls,
)
from reports.open311.models import PartnerApiKey
from reports.open311.selectors import RequestSearch, UpdateSearch

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this interface itself last changed in a way clients may notice; the discovery's changeset is the
# later of this and the last change of the category catalogue.
INTERFACE_CHANGED = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
CATALOGUE_MAX_AGE = 300
REQUESTS_MAX_AGE = 60

EXTENSIONS = {
    "extensions": _(
        "extensions=true adds extended_attributes to each request: our status and status_label, "
        "stadtteil, support_count, duplicate_of and the public history as notes."
    ),
    "updated_after": _("Requests changed at or after this ISO 8601 time."),
    "updated_before": _("Requests changed at or before this ISO 8601 time."),
    "lat,long,radius": _("Requests within radius metres (default 500, at most 10000) of the point."),
    "bbox": _("Requests within minLon,minLat,maxLon,maxLat (WGS84), at most 1 degree each way."),
    "page,page_size": _("Pages of page_size requests (1 to 1000, default 1000), page 1 first."),
    "servicerequestupdates": _(
        "GET servicerequestupdates with api_key, start_date and end_date: the public status changes and "
        "replies of that period (FixMyStreet's and open311-adapter's format); POST servicerequestupdates: "
        "a citizen's comment on a request the partner filed."
    ),
}


class PartnerReadable(Open311View):
    """Endpoints a partner's ``api_key`` opens further: counted against its own limit as well."""

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [PartnerKeyAuthentication()]

    def get_throttles(self) -> list[BaseThrottle]:
        return [ClientRateThrottle(), PartnerKeyThrottle()]


def reading_partner(request: Request) -> PartnerApiKey | None:
    """The partner whose ``api_key`` a read carries, or None without one; a key given but unknown or
    revoked is refused (403) rather than silently read as anonymous."""
    if isinstance(request.auth, PartnerApiKey):
        return request.auth
    if request.query_params.get("api_key"):
        partner_of(request)
    return None


def _requests_document(body: list[dict[str, Any]]) -> Document:
    return Document("service_requests", body, "request")


def _changeset() -> datetime:
    catalogue = reports_selectors.category_catalogue_changed_at()
    return max(INTERFACE_CHANGED, catalogue) if catalogue is not None else INTERFACE_CHANGED


def _catalogue_conditional(request: Request, build: Callable[[], Response]) -> HttpResponseBase:
    """Services and service definitions: ``Last-Modified`` is the catalogue's last change and the ETag is
    made of it (with the language and the format), so an unchanged catalogue answers ``304`` before the
    answer is built, and any change of a category, group or question makes a new one."""
    changed = _changeset().replace(microsecond=0)
    version = (
        f"{changed.isoformat()}|{request_language()}|{request.path}|{request.META.get('QUERY_STRING', '')}"
    )
    etag = f'"{hashlib.sha256(version.encode()).hexdigest()[:32]}"'
    response: HttpResponseBase | None = get_conditional_response(
        request._request, etag=etag, last_modified=int(changed.timestamp())
    )
    if response is None:
        response = build()
    response["ETag"] = etag
    response["Last-Modified"] = http_date(changed.timestamp())
    return cache_public(response, max_age=CATALOGUE_MAX_AGE)


class DiscoveryView(Open311View):
    def get(self, request: Request, format: str | None = None) -> Response:
        changeset = representations.open311_datetime(_changeset())
        body = {
            "changeset": changeset,
            "contact": str(_("City of Castrop-Rauxel, Mängelmelder of the CAS-App.")),
            "key_service": str(
                _(
                    "Partner systems that file requests or follow updates get an api_key from the city's "
                    "administration; reading requests needs none. Jurisdiction: %(jurisdiction)s."
                )
                % {"jurisdiction": JURISDICTION_ID}
            ),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": request.build_absolute_uri("/open311/v2"),
                    "changeset": changeset,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
            "extensions": [
                {"parameter": name, "description": str(text)} for name, text in EXTENSIONS.items()
            ],
        }
        return cache_public(Response(Document("discovery", body)), max_age=CATALOGUE_MAX_AGE)


class ServicesView(Open311View):
    def get(self, request: Request, format: str | None = None) -> HttpResponseBase:
        check_jurisdiction(present(request.query_params))

        def build() -> Response:
            body = [representations.service(category) for category in selectors.services()]
            return Response(Document("services", body, "service"))

        return _catalogue_conditional(request, build)


class ServiceDefinitionView(Open311View):
    def get(self, request: Request, service_code: str, format: str | None = None) -> HttpResponseBase:
        check_jurisdiction(present(request.query_params))

        def build() -> Response:
            category = selectors.service(code=service_code)
            if category is None:
                raise _service_not_found(service_code)
            return Response(Document("service_definition", representations.service_definition(category)))

        return _catalogue_conditional(request, build)


class ServiceRequestsView(PartnerReadable):
    """``GET``: public requests, filtered (with a partner's key, its own with their history); ``POST``: a
    partner system files one."""

    parser_classes = (FormParser, MultiPartParser)

    def get(self, request: Request, format: str | None = None) -> Response:
        partner = reading_partner(request)
        values = present(request.query_params)
        check_jurisdiction(values)
        query = ServiceRequestQuery(data=values)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        codes = filters.get("service_code", [])
        if unknown := selectors.unknown_service_codes(codes):
            raise _service_not_found(unknown[0])
        search = RequestSearch(
            service_request_ids=filters.get("service_request_id"),
            service_codes=codes,
            start=filters.get("start_date"),
            end=filters.get("end_date"),
            statuses=filters.get("status", ()),
            updated_after=filters.get("updated_after"),
            updated_before=filters.get("updated_before"),
            circle=filters.get("circle"),
            bbox=filters.get("bbox"),
            page=filters["page"],
            page_size=filters["page_size"],
            partner_id=partner.pk if partner else None,
        )
        reports = selectors.service_requests(search, now=timezone.now())
        return _requests_response(reports, request=request, partner=partner, extensions=filters["extensions"])

    def post(self, request: Request, format: str | None = None) -> Response:
        api_key = partner_of(request)
        values = present(request.data)
        check_jurisdiction(values)
        parts = media_files(request.FILES)
        form = ServiceRequestForm(data={**values, "media_url": media_urls(request.data)})
        form.is_valid(raise_exception=True)
        given = form.validated_data
        category = selectors.service(code=given["service_code"])
        if category is None:
            raise _service_not_found(given["service_code"])
        attributes_given = attributes(request.data, list(category.questions.all()))
        try:
            report, submission = services.service_request_create(
                api_key=api_key,
                category=category,
                latitude=given["lat"],
                longitude=given["long"],
                answers=attributes_given.answers,
                description=given["description"],
                address=given["address_string"],
                photos=[upload for _name, upload in parts],
                media_urls=given["media_url"],
                sender_metadata=attributes_given.sender_metadata,
                sender_reference=attributes_given.sender_reference,
                contact_name=f"{given['first_name']} {given['last_name']}".strip(),
                contact_email=given["email"],
                contact_phone=given["phone"],
            )
        except DomainError as error:
            error.field = _part_name(error.field, parts)
            raise
        PartnerKeyThrottle().charge(request, self)
        body = {
            "service_request_id": str(report.pk),
            "token": submission.token,
            "service_notice": None,
            "account_id": None,
        }
        return Response(_requests_document([body]))


class ServiceRequestView(PartnerReadable):
    def get(self, request: Request, service_request_id: str, format: str | None = None) -> Response:
        partner = reading_partner(request)
        values = present(request.query_params)
        check_jurisdiction(values)
        lookup = ServiceRequestLookup(data=values)
        lookup.is_valid(raise_exception=True)
        report = selectors.service_request(
            report_id=int(service_request_id), partner_id=partner.pk if partner else None
        )
        if report is None:
            raise NotFound(_("service_request_id %(id)s was not found.") % {"id": service_request_id})
        return _requests_response(
            [report], request=request, partner=partner, extensions=lookup.validated_data["extensions"]
        )


def _requests_response(
    reports: list[Report], *, request: Request, partner: PartnerApiKey | None, extensions: bool
) -> Response:
    """Public requests; for a partner's key, the requests it filed with the history it may see
    (and kept out of shared caches)."""
    own: dict[int, list[ReportEvent]] = {}
    if partner is not None and extensions:
        own = selectors.partner_notes(report_ids=[report.pk for report in reports], api_key_id=partner.pk)
    body = [
        representations.service_request(
            report,
            request=request,
            extensions=extensions,
            own_history=own.get(report.pk, []) if _filed_by(report, partner) else None,
        )
        for report in reports
    ]
    response = Response(_requests_document(body))
    if partner is not None:
        return cache_private(response)
    return cache_public(response, max_age=REQUESTS_MAX_AGE)


def _filed_by(report: Report, partner: PartnerApiKey | None) -> bool:
    if partner is None:
        return False
    submission = getattr(report, "open311_submission", None)
    return submission is not None and submission.api_key_id == partner.pk


class ServiceRequestUpdatesView(PartnerReadable):
    """``GET``: the updates feed for partners; ``POST``: a partner passes on a citizen's comment."""

    parser_classes = (FormParser, MultiPartParser)

    def get(self, request: Request, format: str | None = None) -> Response:
        partner = partner_of(request)
        values = present(request.query_params)
        check_jurisdiction(values)
        query = UpdatesQuery(data=values)
        query.is_valid(raise_exception=True)
        given = query.validated_data
        search = UpdateSearch(
            start=given["start_date"], end=given["end_date"], page=given["page"], page_size=given["page_size"]
        )
        events, more = selectors.service_request_updates(search)
        body = [representations.request_update(event, partner_id=partner.pk) for event in events]
        response = cache_private(Response(Document("service_request_updates", body, "request_update")))
        if more:
            following = request.query_params.copy()
            following["page"] = str(search.page + 1)
            response["Link"] = f'<{request.build_absolute_uri("?" + following.urlencode())}>; rel="next"'
        return response

    def post(self, request: Request, format: str | None = None) -> Response:
        partner = partner_of(request)
        values = present(request.data)
        check_jurisdiction(values)
        form = ServiceRequestUpdateForm(data={**values, "media_url": media_urls(request.data)})
        form.is_valid(raise_exception=True)
        given = form.validated_data
        report = selectors.report_with_submission(report_id=int(given["service_request_id"]), api_key=partner)
        if report is None:
            raise NotFound(
                _("service_request_id %(id)s was not found.") % {"id": given["service_request_id"]}
            )
        now = timezone.now()
        update = services.service_request_update_create(
            api_key=partner,
            report=report,
            description=given["description"],
            still_broken=given["status"] in UPDATE_STATUSES_STILL_BROKEN,
            written_at=min(given["updated_datetime"] or now, now),
            partner_update_id=given["update_id"],
            media_urls=given["media_url"],
        )
        PartnerKeyThrottle().charge(request, self)
        body = [{"update_id": str(update.event_id)}]
        return Response(Document("service_request_updates", body, "request_update"))


class TokenView(Open311View):
    def get(self, request: Request, token: str, format: str | None = None) -> Response:
        check_jurisdiction(present(request.query_params))
        report = selectors.service_request_by_token(token=token)
        if report is None:
            raise NotFound(_("token %(token)s was not found.") % {"token": token[:40]})
        body = [{"service_request_id": str(report.pk), "token": token}]
        return cache_public(Response(_requests_document(body)), max_age=REQUESTS_MAX_AGE)


class UnknownResourceView(Open311View):
    """Any other path under /open311/v2/: the spec's 404, in the format its suffix asks for."""

    def get(self, request: Request, format: str | None = None) -> Response:
        raise NotFound(_("There is no such Open311 resource."))

    post = get


def _part_name(field: str | None, parts: list[tuple[str, Any]]) -> str | None:
    """The photo service's field (``photos``, ``photos.2``) as the file part the sender named."""
    if field == "photos":
        return "media"
    if field and field.startswith("photos."):
        index = field.removeprefix("photos.")
        if index.isdigit() and int(index) < len(parts):
            return parts[int(index)][0]
    return field


def _service_not_found(code: str) -> NotFound:
    return NotFound(_("service_code %(code)s was not found.") % {"code": code[:60]})
