"""One Open311 document, two representations: JSON (bare arrays for lists) and XML (the spec's elements).

The views build a ``Document`` of plain values; the renderers turn the same document into either format,
so both always carry the same fields in the same order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from rest_framework.renderers import BaseRenderer

# A list in XML is a wrapper element holding one element per item, named as the spec names it.
XML_ITEM_NAMES = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "extensions": "extension",
    "notes": "note",
}


# Characters XML 1.0 cannot carry at all, not even escaped (most C0 controls). Reporters' text may hold
# them (the app's API refuses only NUL): each becomes U+FFFD so the document stays well-formed.
NOT_XML_CHARACTERS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Document:
    """``root`` is the XML root element; ``item`` the element of each entry when ``body`` is a list."""

    root: str
    body: list[dict[str, Any]] | dict[str, Any]
    item: str = ""


class Open311JSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        body = data.body if isinstance(data, Document) else data
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Open311XMLRenderer(BaseRenderer):
    media_type = "text/xml"
    format = "xml"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if not isinstance(data, Document):
            raise TypeError("the Open311 XML renderer renders Documents only")
        root = ET.Element(data.root)
        if isinstance(data.body, list):
            for entry in data.body:
                _fill(ET.SubElement(root, data.item), entry)
        else:
            _fill(root, data.body)
        return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _fill(element: ET.Element, fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        _append(element, name, value)


def _append(parent: ET.Element, name: str, value: Any) -> None:
    child = ET.SubElement(parent, name)
    if value is None:
        return
    if isinstance(value, Mapping):
        _fill(child, value)
    elif isinstance(value, list):
        for entry in value:
            _append(child, XML_ITEM_NAMES[name], entry)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    else:
        child.text = NOT_XML_CHARACTERS.sub("\ufffd", str(value))
