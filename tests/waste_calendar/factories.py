"""Factories for the Abfallkalender: streets get their search forms from the one normalisation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.utils import timezone

from waste_calendar.models import (
    Collection,
    CollectionChange,
    District,
    ImportRun,
    Location,
    LocationDistrict,
    Parity,
    Street,
    WasteType,
)
from waste_calendar.normalise import (
    house_number_parts,
    house_number_range,
    street_compact_form,
    street_search_form,
)


class WasteTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WasteType
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"type{n}")
    name_de = factory.LazyAttribute(lambda o: o.key.capitalize())
    name_en = ""
    position = factory.Sequence(lambda n: n)


class StreetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Street

    name = factory.Sequence(lambda n: f"Teststraße {n}")
    postcode = "44575"
    name_search = factory.LazyAttribute(lambda o: street_search_form(o.name))
    name_compact = factory.LazyAttribute(lambda o: street_compact_form(o.name))


def _number_fields(house_number: str, parity: str) -> dict[str, Any]:
    """The canonical fields of a house number as the importers store them."""
    if not house_number:
        return {"house_number_key": "", "number_from": None, "number_to": None, "suffix": ""}
    single = house_number_parts(house_number)
    if single is not None:
        number, suffix = single
        return {
            "house_number_key": f"{number}{suffix}",
            "number_from": number,
            "number_to": number,
            "suffix": suffix,
        }
    low_high = house_number_range(house_number)
    assert low_high is not None, house_number
    key = f"{low_high[0]}-{low_high[1]}" + ("" if parity == Parity.ALL else f"/{parity}")
    return {"house_number_key": key, "number_from": low_high[0], "number_to": low_high[1], "suffix": ""}


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    street = factory.SubFactory(StreetFactory)
    house_number = "12"
    parity = Parity.ALL

    @classmethod
    def _create(cls, model_class: type[Location], *args: Any, **kwargs: Any) -> Location:
        from waste_calendar.models import location_public_id

        fields = _number_fields(kwargs["house_number"], kwargs.get("parity", Parity.ALL))
        kwargs = {**fields, **kwargs}
        street = kwargs["street"]
        kwargs.setdefault(
            "public_id",
            location_public_id(
                street_name=street.name, postcode=street.postcode, house_number_key=kwargs["house_number_key"]
            ),
        )
        return super()._create(model_class, *args, **kwargs)


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District

    waste_type = factory.SubFactory(WasteTypeFactory)
    code = factory.Sequence(lambda n: f"T-{n:02d}")


class LocationDistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocationDistrict

    location = factory.SubFactory(LocationFactory)
    district = factory.SubFactory(DistrictFactory)
    waste_type = factory.LazyAttribute(lambda o: o.district.waste_type)
    valid_from = dt.date(2020, 1, 1)
    valid_until = None


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collection

    district = factory.SubFactory(DistrictFactory)
    date = factory.LazyFunction(timezone.localdate)


class ImportRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportRun

    kind = "csv"
    source = "test.csv"
    status = "succeeded"
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)


class CollectionChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CollectionChange

    collection = factory.SubFactory(CollectionFactory)
    district = factory.LazyAttribute(lambda o: o.collection.district)
    kind = "moved"
    date = factory.LazyAttribute(lambda o: o.collection.date)
    import_run = factory.SubFactory(ImportRunFactory)
