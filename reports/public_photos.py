"""Public photo URLs that do not expire: ``/media/reports/photos/<public id>-<content hash>.jpg`` (and
``…-thumb.jpg`` for the thumbnail), served by us from whichever storage holds the files.

The app API, the open data and Open311's ``media_url`` all hand out these URLs, so a partner's stored copy
keeps working for as long as the photo is public, and stops at once when it is not: a photo removed by
moderation, or of a hidden report, answers 410. The content hash is part of the URL: another picture gets
another URL, so a URL may be cached for as long as it exists (``Cache-Control: immutable``, an ``ETag``).
Browsers keep it for a year; shared caches (a CDN, a proxy) only for ``SHARED_CACHE_SECONDS``, so a removal
reaches every reader through them within minutes.
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, register_converter, reverse
from django.utils.cache import get_conditional_response
from django.utils.translation import gettext_lazy as _

from casapp.api.errors import error_response
from reports.models import ReportPhoto

PREFIX = "media/reports/photos/"
BROWSER_CACHE_SECONDS = 365 * 24 * 3600
SHARED_CACHE_SECONDS = 300
CACHE_CONTROL = f"public, max-age={BROWSER_CACHE_SECONDS}, s-maxage={SHARED_CACHE_SECONDS}, immutable"


class HexConverter:
    regex = "[0-9a-f]{16}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(HexConverter, "hex16")


def photo_path(*, public_id: str, content_hash: str, thumbnail: bool = False) -> str:
    """The public path (no host) of a photo or its thumbnail."""
    name = "report-photo-thumbnail" if thumbnail else "report-photo"
    return reverse(name, kwargs={"public_id": public_id, "content_hash": content_hash})


def photo_image_path(photo: ReportPhoto) -> str:
    return photo_path(public_id=photo.public_id, content_hash=photo.content_hash)


def photo_thumbnail_path(photo: ReportPhoto) -> str:
    return photo_path(public_id=photo.public_id, content_hash=photo.content_hash, thumbnail=True)


def _serve(request: HttpRequest, public_id: str, content_hash: str, *, thumbnail: bool) -> HttpResponseBase:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    photo = ReportPhoto.objects.select_related("report").filter(public_id=public_id).first()
    if photo is None or photo.content_hash != content_hash:
        raise Http404
    if photo.removed or photo.report.hidden:
        response: HttpResponse = error_response(
            status=410, code="photo_gone", detail=_("This photo is no longer public.")
        )
        response["Cache-Control"] = "no-store"
        return response
    etag = f'"{content_hash}{"-thumb" if thumbnail else ""}"'
    conditional = get_conditional_response(request, etag=etag)
    if conditional is not None:
        conditional["ETag"] = etag
        conditional["Cache-Control"] = CACHE_CONTROL
        return conditional
    stored = photo.thumbnail if thumbnail else photo.image
    if request.method == "HEAD":
        response = HttpResponse(content_type="image/jpeg")
        response["Content-Length"] = str(stored.storage.size(stored.name))
        response["ETag"] = etag
        response["Cache-Control"] = CACHE_CONTROL
        return response
    # Streamed from the storage (the local disk or S3): the URL stays ours, whatever signs the storage's.
    # Named by the public id: the stored name (with its date) is nobody's business.
    public_name = f"{public_id}{'-thumb' if thumbnail else ''}.jpg"
    streamed = FileResponse(
        stored.storage.open(stored.name, "rb"), content_type="image/jpeg", filename=public_name
    )
    streamed["ETag"] = etag
    streamed["Cache-Control"] = CACHE_CONTROL
    return streamed


def photo_image(request: HttpRequest, public_id: str, content_hash: str) -> HttpResponseBase:
    return _serve(request, public_id, content_hash, thumbnail=False)


def photo_thumbnail(request: HttpRequest, public_id: str, content_hash: str) -> HttpResponseBase:
    return _serve(request, public_id, content_hash, thumbnail=True)


urlpatterns: list[URLPattern] = [
    path("<hex16:public_id>-<hex16:content_hash>.jpg", photo_image, name="report-photo"),
    path("<hex16:public_id>-<hex16:content_hash>-thumb.jpg", photo_thumbnail, name="report-photo-thumbnail"),
]
