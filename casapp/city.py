"""The city this deployment serves. A city adopting the backend changes this module and the demo data."""

from __future__ import annotations

CITY_NAME = "Castrop-Rauxel"

# The 15 official Stadtteile. Their polygons are imported (no public geometry exists); the names are fixed.
STADTTEILE: tuple[str, ...] = (
    "Becklem",
    "Behringhausen",
    "Bladenhorst",
    "Castrop",
    "Deininghausen",
    "Dingen",
    "Frohlinde",
    "Habinghorst",
    "Henrichenburg",
    "Ickern",
    "Merklinde",
    "Obercastrop",
    "Pöppinghausen",
    "Rauxel",
    "Schwerin",
)
STADTTEIL_CHOICES = [(name, name) for name in STADTTEILE]
