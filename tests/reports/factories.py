"""Factories of the Mängelmelder: departments, the two-level catalogue, and reports placed inside the city."""

from __future__ import annotations

import math
import random
from typing import Any

import factory
from django.db.models import Model

from reports.geo import EARTH_RADIUS_M, city_geometry
from reports.models import Category, CategoryQuestion, Department, Report, ReportEvent, ReportStatus
from tests.factories import InstallationFactory

_CENTRE = city_geometry().representative_point()  # inside by construction, about 1 km from the boundary
# A point known to lie in Castrop-Rauxel, as (latitude, longitude).
CITY_POINT: tuple[float, float] = (_CENTRE.y, _CENTRE.x)
# Dortmund's centre: a real place just outside the city.
DORTMUND = (51.5136, 7.4653)


def moved(point: tuple[float, float], *, north_m: float = 0.0, east_m: float = 0.0) -> tuple[float, float]:
    """``point`` moved by the given metres (a local flat approximation, exact enough below a kilometre)."""
    latitude, longitude = point
    degrees_per_metre = 180 / (math.pi * EARTH_RADIUS_M)
    return (
        latitude + north_m * degrees_per_metre,
        longitude + east_m * degrees_per_metre / math.cos(math.radians(latitude)),
    )


def jittered(point: tuple[float, float] = CITY_POINT, metres: float = 5.0) -> tuple[float, float]:
    return moved(point, north_m=random.uniform(-metres, metres), east_m=random.uniform(-metres, metres))


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"amt-{n}")
    name = factory.Sequence(lambda n: f"Amt {n}")


class CategoryGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    key = factory.Sequence(lambda n: f"gruppe-{n}")
    name_de = factory.Sequence(lambda n: f"Gruppe {n}")
    name_en = factory.Sequence(lambda n: f"Group {n}")
    icon_key = "road"


class CategoryFactory(factory.django.DjangoModelFactory):
    """A leaf: what reports are filed under."""

    class Meta:
        model = Category

    parent = factory.SubFactory(CategoryGroupFactory)
    department = factory.SubFactory(DepartmentFactory)
    key = factory.Sequence(lambda n: f"kategorie-{n}")
    name_de = factory.Sequence(lambda n: f"Kategorie {n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")
    icon_key = "pothole"


class CategoryQuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CategoryQuestion

    category = factory.SubFactory(CategoryFactory)
    key = factory.Sequence(lambda n: f"frage-{n}")
    label_de = factory.Sequence(lambda n: f"Frage {n}?")
    label_en = factory.Sequence(lambda n: f"Question {n}?")
    kind = "text"


class ReportFactory(factory.django.DjangoModelFactory):
    """A report a few metres from a point inside the city, filed by its own installation, with the
    "created" event the service writes.

    ``created_at``, ``updated_at`` (auto fields) are written after creating, when given.
    """

    class Meta:
        model = Report

    category = factory.SubFactory(CategoryFactory)
    description = factory.Sequence(lambda n: f"Schaden Nummer {n}")
    latitude = factory.LazyAttribute(lambda o: o.point[0])
    longitude = factory.LazyAttribute(lambda o: o.point[1])
    installation = factory.SubFactory(InstallationFactory)
    status = ReportStatus.RECEIVED

    class Params:
        point = factory.LazyFunction(jittered)

    @classmethod
    def _create(cls, model_class: type[Model], *args: Any, **kwargs: Any) -> Any:
        timestamps = {key: kwargs.pop(key) for key in ("created_at", "updated_at") if key in kwargs}
        report = super()._create(model_class, *args, **kwargs)
        if timestamps:
            Report.objects.filter(pk=report.pk).update(**timestamps)
            report.refresh_from_db()
        created = ReportEvent.objects.create(
            report=report, kind=ReportEvent.Kind.CREATED, to_status=ReportStatus.RECEIVED, is_public=True
        )
        ReportEvent.objects.filter(pk=created.pk).update(created_at=report.created_at)
        return report
