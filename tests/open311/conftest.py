"""Actors of the Open311 tests: a partner system with its api_key, a second partner, an anonymous reader;
and a category with one question of each kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.test import Client

from reports.models import Category, QuestionKind
from reports.open311.models import PartnerApiKey
from reports.open311.services import partner_key_create
from tests.open311 import schemas
from tests.reports.factories import CategoryFactory, CategoryGroupFactory, CategoryQuestionFactory

BASE = "/open311/v2/"


@dataclass
class Partner:
    key: PartnerApiKey
    secret: str


@pytest.fixture
def partner(db: Any) -> Partner:
    key, secret = partner_key_create(name="Stadtverwaltung Backoffice", contact="it@example.org")
    return Partner(key, secret)


@pytest.fixture
def other_partner(db: Any) -> Partner:
    key, secret = partner_key_create(name="Aggregator")
    return Partner(key, secret)


@pytest.fixture
def reader() -> Client:
    return Client()


@pytest.fixture
def streetlight(db: Any) -> Category:
    """A leaf with a required single choice, an optional number, text and multiple choice."""
    group = CategoryGroupFactory(key="beleuchtung", name_de="Beleuchtung", name_en="Lighting")
    category: Category = CategoryFactory(
        parent=group,
        key="strassenlaterne",
        name_de="Straßenlaterne defekt",
        name_en="Street light broken",
        description_de="Laterne aus oder flackert",
        description_en="Light off or flickering",
    )
    CategoryQuestionFactory(
        category=category,
        key="fehlerbild",
        label_de="Was ist kaputt?",
        label_en="What is broken?",
        kind=QuestionKind.SINGLE_CHOICE,
        required=True,
        position=1,
        choices=[
            {"key": "aus", "label_de": "Leuchtet nicht", "label_en": "Off"},
            {"key": "flackert", "label_de": "Flackert", "label_en": "Flickering"},
        ],
    )
    CategoryQuestionFactory(
        category=category, key="mastnummer", label_de="Mastnummer", kind=QuestionKind.NUMBER, position=2
    )
    CategoryQuestionFactory(
        category=category, key="hinweis", label_de="Hinweis", kind=QuestionKind.TEXT, position=3
    )
    CategoryQuestionFactory(
        category=category,
        key="umgebung",
        label_de="Umgebung",
        kind=QuestionKind.MULTIPLE_CHOICE,
        position=4,
        choices=[
            {"key": "gehweg", "label_de": "Gehweg"},
            {"key": "radweg", "label_de": "Radweg"},
            {"key": "strasse", "label_de": "Straße"},
        ],
    )
    return category


def parse_xml(response: Any) -> ET.Element:
    """The body through a real XML parser (it raises on anything not well-formed)."""
    assert response["Content-Type"] == "text/xml; charset=utf-8", response["Content-Type"]
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(response.content)  # noqa: S314 - our own response


def parse_json(response: Any) -> Any:
    assert response["Content-Type"] == "application/json; charset=utf-8", response["Content-Type"]
    return response.json()


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def assert_open311_error(response: Any, status: int, fmt: str, *, mentions: str = "") -> list[str]:
    """The spec's error format: an array of {code, description}; the code is the HTTP status."""
    assert response.status_code == status, response.content[:500]
    if fmt == "json":
        body = parse_json(response)
        schemas.validate(body, schemas.ERRORS)
        assert isinstance(body, list)
        assert body
        for error in body:
            assert set(error) == {"code", "description"}
            assert error["code"] == status
            assert isinstance(error["description"], str)
            assert error["description"]
        descriptions = [error["description"] for error in body]
    else:
        root = parse_xml(response)
        assert root.tag == "errors"
        assert root
        descriptions = []
        for error in root:
            assert error.tag == "error"
            assert children(error) == ["code", "description"]
            assert error.findtext("code") == str(status)
            descriptions.append(error.findtext("description") or "")
            assert descriptions[-1]
    if mentions:
        assert any(mentions in description for description in descriptions), descriptions
    return descriptions
