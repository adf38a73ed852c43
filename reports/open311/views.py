"""Open311 GeoReport v2 endpoints: each validates its parameters, calls one selector or service and
answers a ``Document`` that the suffix's renderer writes as XML or JSON."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from casapp.api.caching import cache_public
from casapp.api.throttling import ClientRateThrottle
from casapp.errors import DomainError
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
    ServiceRequestForm,
    ServiceRequestLookup,
    ServiceRequestQuery,
    attributes,
    media_files,
    media_urls,
)
from reports.open311.selectors import RequestSearch

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this interface last changed in a way clients may notice (the discovery's changeset).
CHANGESET = "2026-11-25T00:00:00+01:00"
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
}


def _requests_document(body: list[dict[str, Any]]) -> Document:
    return Document("service_requests", body, "request")


class DiscoveryView(Open311View):
    def get(self, request: Request, format: str | None = None) -> Response:
        body = {
            "changeset": CHANGESET,
            "contact": str(_("City of Castrop-Rauxel, Mängelmelder of the CAS-App.")),
            "key_service": str(
                _(
                    "Partner systems that file requests get an api_key from the city's administration; "
                    "reading needs none. Jurisdiction: %(jurisdiction)s."
                )
                % {"jurisdiction": JURISDICTION_ID}
            ),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": request.build_absolute_uri("/open311/v2"),
                    "changeset": CHANGESET,
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
    def get(self, request: Request, format: str | None = None) -> Response:
        check_jurisdiction(present(request.query_params))
        body = [representations.service(category) for category in selectors.services()]
        return cache_public(Response(Document("services", body, "service")), max_age=CATALOGUE_MAX_AGE)


class ServiceDefinitionView(Open311View):
    def get(self, request: Request, service_code: str, format: str | None = None) -> Response:
        check_jurisdiction(present(request.query_params))
        category = selectors.service(code=service_code)
        if category is None:
            raise _service_not_found(service_code)
        body = representations.service_definition(category)
        return cache_public(Response(Document("service_definition", body)), max_age=CATALOGUE_MAX_AGE)


class ServiceRequestsView(Open311View):
    """``GET``: public requests, filtered; ``POST``: a partner system files one."""

    parser_classes = (FormParser, MultiPartParser)

    def _filing(self) -> bool:
        return getattr(self.request, "method", None) == "POST"

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [PartnerKeyAuthentication()] if self._filing() else []

    def get_throttles(self) -> list[BaseThrottle]:
        if self._filing():
            return [ClientRateThrottle(), PartnerKeyThrottle()]
        return super().get_throttles()

    def get(self, request: Request, format: str | None = None) -> Response:
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
        )
        reports = selectors.service_requests(search, now=timezone.now())
        body = [
            representations.service_request(report, request=request, extensions=filters["extensions"])
            for report in reports
        ]
        return cache_public(Response(_requests_document(body)), max_age=REQUESTS_MAX_AGE)

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


class ServiceRequestView(Open311View):
    def get(self, request: Request, service_request_id: str, format: str | None = None) -> Response:
        values = present(request.query_params)
        check_jurisdiction(values)
        lookup = ServiceRequestLookup(data=values)
        lookup.is_valid(raise_exception=True)
        report = selectors.service_request(report_id=int(service_request_id))
        if report is None:
            raise NotFound(_("service_request_id %(id)s was not found.") % {"id": service_request_id})
        body = representations.service_request(
            report, request=request, extensions=lookup.validated_data["extensions"]
        )
        return cache_public(Response(_requests_document([body])), max_age=REQUESTS_MAX_AGE)


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
