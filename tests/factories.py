"""Factories for test data. Installations get a known secret so tests can authenticate as them."""

from __future__ import annotations

import secrets
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from casapp.models import hash_secret
from push.models import Installation


class InstallationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Installation
        skip_postgeneration_save = True

    platform = "android"
    app_version = "1.4.0"
    locale = "de"
    last_seen_at = factory.LazyFunction(timezone.now)
    secret = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    secret_hash = factory.LazyAttribute(lambda o: hash_secret(o.secret))

    @classmethod
    def _create(cls, model_class: type[Installation], *args: Any, **kwargs: Any) -> Installation:
        secret = kwargs.pop("secret")
        installation = super()._create(model_class, *args, **kwargs)
        installation.secret = secret  # type: ignore[attr-defined]
        return installation


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Sam"
    last_name = factory.Sequence(lambda n: f"Mitarbeiter{n}")
    is_staff = True
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        for name in extracted or []:
            self.groups.add(Group.objects.get(name=name))
