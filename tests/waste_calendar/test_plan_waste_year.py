"""plan_waste_year: rules to dates, NRW holiday shifts checked against the real EUV sample."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from tests.waste_calendar.conftest import FIXTURES, run_command
from waste_calendar.models import (
    ChangeKind,
    Collection,
    CollectionChange,
    CollectionStatus,
    ImportRun,
    PlanRule,
)

pytestmark = pytest.mark.django_db
D = dt.date
REPO = Path(__file__).resolve().parents[2]
# The app's own copy of the reference sample (tests/test_reference_data.py checks it is unchanged).
SAMPLE = REPO / "waste_calendar" / "data" / "euv-sample-collections.json"
SAMPLE_DISTRICTS = {"Abfuhr Restabfall": "R-GK", "Abfuhr Wertstoff": "W-GK", "Abfuhr Bioabfall": "B-GK"}


def planned(code: str, start: dt.date, end: dt.date) -> list[dt.date]:
    return list(
        Collection.objects.filter(district__code=code, date__gte=start, date__lte=end)
        .exclude(status=CollectionStatus.CANCELLED)
        .order_by("date")
        .values_list("date", flat=True)
    )


def write_rules(tmp_path: Path, rules: dict[str, object]) -> str:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules), encoding="utf-8")
    return str(path)


def one_district(weekday: str, anchor: str, **extra: object) -> dict[str, object]:
    return {
        **extra,
        "districts": [
            {
                "type": "restabfall",
                "code": "R-T",
                "valid_from": "2024-01-01",
                "rules": [{"weekday": weekday, "every_weeks": 1, "anchor": anchor}],
            }
        ],
    }


def test_planned_dates_match_the_euv_sample_with_its_holiday_shifts() -> None:
    run_command("plan_waste_year", "2024", "2025", "--rules", str(FIXTURES / "euv_sample_rules.json"))

    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    expected: dict[str, list[dt.date]] = {}
    for event in sample["events"]:
        expected.setdefault(SAMPLE_DISTRICTS[event["summary"]], []).append(D.fromisoformat(event["date"]))
    assert sum(len(dates) for dates in expected.values()) == 35
    for code, dates in expected.items():
        assert planned(code, min(dates), max(dates)) == sorted(dates), code

    # The shifts the sample shows, with their regular day and the reason.
    moved = {
        (c.district.code, c.date): (c.original_date, c.reason)
        for c in Collection.objects.filter(
            status=CollectionStatus.MOVED, date__range=(D(2024, 12, 1), D(2025, 1, 31))
        )
    }
    assert moved[("R-GK", D(2024, 12, 23))] == (D(2024, 12, 24), "Heiligabend")
    assert moved[("R-GK", D(2024, 12, 28))] == (D(2024, 12, 27), "Zweiter Weihnachtstag")
    assert moved[("R-GK", D(2025, 1, 4))] == (D(2025, 1, 3), "Neujahr")
    assert moved[("W-GK", D(2025, 1, 4))] == (D(2025, 1, 3), "Neujahr")
    # 31 December is no local day for EUV: collected on the day.
    assert (
        Collection.objects.get(district__code="R-GK", date=D(2024, 12, 31)).status
        == CollectionStatus.SCHEDULED
    )


def test_replanning_is_idempotent_and_a_rule_change_is_recorded(tmp_path: Path) -> None:
    rules = str(FIXTURES / "euv_sample_rules.json")
    run_command("plan_waste_year", "2025", "--rules", rules)
    stored = sorted(Collection.objects.values_list("pk", "date", "status", "updated_at"))

    assert "Unchanged" in run_command("plan_waste_year", "2025", "--rules", rules)
    assert sorted(Collection.objects.values_list("pk", "date", "status", "updated_at")) == stored
    assert not CollectionChange.objects.exists()

    # Wertstoff moves from Friday to Thursday: each collection moves, the change is recorded, and the new
    # dates are regular ones (a rule change, not a holiday).
    changed = json.loads(Path(rules).read_text(encoding="utf-8"))
    changed["districts"][1]["rules"] = [{"weekday": "thu", "every_weeks": 2, "anchor": "2024-11-07"}]
    run_command("plan_waste_year", "2025", "--rules", write_rules(tmp_path, changed))
    thursday = Collection.objects.get(district__code="W-GK", date=D(2025, 1, 16))
    assert thursday.status == CollectionStatus.SCHEDULED
    assert CollectionChange.objects.get(collection=thursday).previous_date == D(2025, 1, 17)
    assert CollectionChange.objects.filter(kind=ChangeKind.MOVED).count() == 26
    # The planned year is compared as a whole: the last Friday moved too, nothing is left behind.
    assert planned("W-GK", D(2025, 12, 1), D(2025, 12, 31)) == [D(2025, 12, 4), D(2025, 12, 18)]
    assert list(PlanRule.objects.filter(district__code="W-GK").values_list("weekday", flat=True)) == [3]


@pytest.mark.parametrize(
    ("shift_rule", "expected"),
    [
        # Wednesday 1 January 2025 is a holiday; Thursday's collection follows the cascade in the default.
        ("cascade", {D(2025, 1, 2)}),
        ("next-working-day", {D(2025, 1, 2)}),
        ("previous-working-day", {D(2024, 12, 31)}),
    ],
)
def test_shift_rules(tmp_path: Path, shift_rule: str, expected: set[dt.date]) -> None:
    rules = write_rules(tmp_path, one_district("wed", "2024-11-06"))
    run_command("plan_waste_year", "2024", "2025", "--rules", rules, "--shift-rule", shift_rule)
    new_year = Collection.objects.get(district__code="R-T", original_date=D(2025, 1, 1))
    assert {new_year.date} == expected
    assert new_year.reason == "Neujahr"


def test_cascade_shifts_the_rest_of_the_week(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, one_district("thu", "2024-11-07"))
    run_command("plan_waste_year", "2025", "--rules", rules)
    # Thursday 2 January after the Wednesday holiday: Friday.
    assert Collection.objects.get(district__code="R-T", original_date=D(2025, 1, 2)).date == D(2025, 1, 3)
    # Next-working-day leaves it alone: it is not a holiday itself.
    run_command("plan_waste_year", "2025", "--rules", rules, "--shift-rule", "next-working-day")
    assert (
        Collection.objects.get(district__code="R-T", date=D(2025, 1, 2)).status == CollectionStatus.SCHEDULED
    )


def test_local_days_are_configurable(tmp_path: Path) -> None:
    # Tuesday 31 December 2024: a local day after which collection follows.
    rules = write_rules(tmp_path, one_district("tue", "2024-11-05", local_days=["12-31:after"]))
    run_command("plan_waste_year", "2024", "--rules", rules)
    assert Collection.objects.get(district__code="R-T", original_date=D(2024, 12, 31)).date == D(2025, 1, 2)
    assert Collection.objects.get(district__code="R-T", original_date=D(2024, 12, 31)).reason == "Silvester"
    # 24 December is not in this file's list: collected on the day.
    assert (
        Collection.objects.get(district__code="R-T", date=D(2024, 12, 24)).status
        == CollectionStatus.SCHEDULED
    )
    # The command line overrides the file.
    run_command("plan_waste_year", "2024", "--rules", rules, "--local-day", "12-24:before")
    assert Collection.objects.get(district__code="R-T", original_date=D(2024, 12, 24)).date == D(2024, 12, 23)


def test_bad_rules_are_refused(tmp_path: Path) -> None:
    rules = write_rules(
        tmp_path,
        {
            "shift_rule": "whenever",
            "local_days": ["31-12"],
            "districts": [
                {"type": "glas", "code": "G1", "rules": [{"weekday": "mon", "anchor": "2025-01-07"}]},
                {
                    "type": "papier",
                    "code": "P1",
                    "rules": [{"weekday": "sun", "every_weeks": 0, "anchor": "2025-13-01"}],
                },
                {"type": "papier", "code": "P2", "rules": []},
            ],
        },
    )
    with pytest.raises(CommandError) as failure:
        run_command("plan_waste_year", "2025", "1999", "--rules", rules)
    message = str(failure.value)
    assert "year 1999 is not between" in message
    assert "shift_rule 'whenever'" in message
    assert "'31-12' is not MM-DD" in message
    assert "districts[0]: unknown waste type 'glas'" in message
    assert "districts[0].rules[0]: the anchor 2025-01-07 is not a mon" in message
    assert "districts[1].rules[0]: weekday 'sun' is not Mon-Sat" in message
    assert "districts[1].rules[0]: every_weeks must be a whole number 1-52" in message
    assert "districts[1].rules[0]: '2025-13-01' is not a date" in message
    assert "districts[2]: no rules" in message
    assert not PlanRule.objects.exists()
    assert not Collection.objects.exists()
    assert ImportRun.objects.get().status == "failed"


def test_without_rules_there_is_nothing_to_plan() -> None:
    with pytest.raises(CommandError, match="No planning rules"):
        run_command("plan_waste_year", "2025")


def test_a_shift_across_the_year_end_belongs_to_its_regular_year(tmp_path: Path) -> None:
    # Friday 1 January 2027 is Neujahr; the previous working day is Thursday 31 December 2026.
    rules = write_rules(tmp_path, {**one_district("fri", "2026-01-02"), "shift_rule": "previous-working-day"})
    for _round in range(2):
        run_command("plan_waste_year", "2026", "2027", "--rules", rules)
        run_command("plan_waste_year", "2027", "2026", "--rules", rules)
    new_year = Collection.objects.get(district__code="R-T", original_date=D(2027, 1, 1))
    assert (new_year.date, new_year.status) == (D(2026, 12, 31), CollectionStatus.MOVED)
    # Planning 2026 again does not cancel 2027's collection that a holiday put into 2026.
    assert not Collection.objects.filter(status=CollectionStatus.CANCELLED).exists()
    assert not CollectionChange.objects.exists()
    # Christmas Friday: back past Heiligabend (a local day) to Wednesday the 23rd.
    assert planned("R-T", D(2026, 12, 20), D(2027, 1, 10)) == [
        D(2026, 12, 23),
        D(2026, 12, 31),
        D(2027, 1, 8),
    ]
