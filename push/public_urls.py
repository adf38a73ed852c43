"""Public files of push: the images of push messages, at addresses that never change or expire.

Phones load a message's image when it arrives, possibly days later (FCM holds messages up to four
weeks): a signed storage URL would have expired by then. So the image is served by us, by its id.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.urls import URLPattern, path
from django.views.decorators.http import require_safe

from push.models import PushImage


@require_safe
def push_image(request: HttpRequest, pk: str) -> FileResponse:
    image = PushImage.objects.filter(pk=pk).first()
    if image is None or not default_storage.exists(image.file.name):
        raise Http404
    response = FileResponse(default_storage.open(image.file.name, "rb"), content_type="image/jpeg")
    # The id names the bytes: they never change, so caches may keep them.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


urlpatterns: list[URLPattern] = [
    path("images/<uuid:pk>.jpg", push_image, name="push-image"),
]
