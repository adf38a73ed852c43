"""Answers to a category's extra questions, checked against the questions' kinds and choices."""

from __future__ import annotations

import math
from typing import Any

from django.utils.translation import gettext_lazy as _

from casapp.errors import DomainError
from reports.models import Category, QuestionKind

MAX_TEXT_ANSWER = 500


def validate_answers(category: Category, answers: Any) -> dict[str, Any]:  # noqa: PLR0912
    """Returns the answers keyed by question key; unknown keys, wrong types, unknown choices and
    missing required answers are refused with the question named in ``field``."""
    if not isinstance(answers, dict):
        raise DomainError(
            _("Answers must be an object keyed by question."), code="invalid_answers", field="answers"
        )
    questions = {q.key: q for q in category.questions.all()}
    if unknown := sorted(set(answers) - set(questions)):
        raise DomainError(
            _("Unknown question: %(key)s") % {"key": unknown[0]},
            code="unknown_question",
            field=f"answers.{unknown[0]}",
        )
    clean: dict[str, Any] = {}
    for key, question in questions.items():
        field = f"answers.{key}"
        value = answers.get(key)
        if value in (None, "", []):
            if question.required:
                raise DomainError(_("This question needs an answer."), code="required", field=field)
            continue
        choices = {c.get("key") for c in question.choices}
        if question.kind == QuestionKind.TEXT:
            if not isinstance(value, str) or len(value) > MAX_TEXT_ANSWER or not text_storable(value):
                raise DomainError(_("Enter a short text."), code="invalid", field=field)
            clean[key] = value.strip()
        elif question.kind == QuestionKind.NUMBER:
            number = _number(value)
            if number is None:
                raise DomainError(_("Enter a number."), code="invalid", field=field)
            clean[key] = number
        elif question.kind == QuestionKind.SINGLE_CHOICE:
            if not isinstance(value, str) or value not in choices:
                raise DomainError(_("Choose one of the offered answers."), code="invalid_choice", field=field)
            clean[key] = value
        else:
            if (
                not isinstance(value, list)
                or not value
                or any(not isinstance(v, str) or v not in choices for v in value)
            ):
                raise DomainError(_("Choose from the offered answers."), code="invalid_choice", field=field)
            clean[key] = sorted(set(value))
    return clean


def text_storable(text: str) -> bool:
    """No NUL and no lone surrogates: PostgreSQL refuses them and JSON output cannot encode them."""
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or abs(number) > 1e9:
        return None
    return int(number) if number.is_integer() else number
