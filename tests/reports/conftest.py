"""Fixtures of the Mängelmelder tests: two departments and a category of each, as most triage tests need.

Tiefbau (with Schlagloch) is the department of the staff member a test follows; Ordnung (with Graffiti) is
another department, whose reports that member must not see.
"""

from __future__ import annotations

from typing import Any

import pytest

from reports.models import Category, Department
from tests.reports.staff_factories import category, department


@pytest.fixture
def tiefbau(db: Any) -> Department:
    return department("tiefbau")


@pytest.fixture
def ordnung(db: Any) -> Department:
    return department("ordnung")


@pytest.fixture
def schlagloch(tiefbau: Department) -> Category:
    return category("schlagloch", department=tiefbau)


@pytest.fixture
def graffiti(ordnung: Department) -> Category:
    return category("graffiti", department=ordnung)
