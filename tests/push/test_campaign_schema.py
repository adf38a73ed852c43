"""The Mitmach-Aktionen endpoints in the published OpenAPI schema: documented, with examples, and the
gallery's items without any field that could name the sender."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(anon_client):
    response = anon_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_every_campaign_endpoint_is_documented(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/campaigns/"]) == {"get"}
    assert set(paths["/api/v1/campaigns/{participation_id}/submissions"]) == {"post"}
    assert set(paths["/api/v1/campaigns/{participation_id}/submissions/{submission_id}"]) == {"delete"}
    submit = paths["/api/v1/campaigns/{participation_id}/submissions"]["post"]
    assert list(submit["requestBody"]["content"]) == ["multipart/form-data"]
    assert {"201", "400", "401", "404", "409", "429"} <= set(submit["responses"])
    for code in ("consent_required", "participation_closed", "submission_limit", "unsupported_photo"):
        assert code in submit["description"]


def test_the_endpoints_carry_examples(schema):
    paths = schema["paths"]
    gallery = paths["/api/v1/campaigns/{participation_id}/gallery"]["get"]
    assert gallery["responses"]["200"]["content"]["application/json"]["examples"]
    submit = paths["/api/v1/campaigns/{participation_id}/submissions"]["post"]
    assert submit["requestBody"]["content"]["multipart/form-data"]["examples"]
    assert submit["responses"]["201"]["content"]["application/json"]["examples"]


def test_a_gallery_photo_has_no_field_about_its_sender(schema):
    photo = schema["components"]["schemas"]["GalleryPhoto"]["properties"]
    assert set(photo) == {"id", "image", "thumbnail", "width", "height", "text", "published_at"}
