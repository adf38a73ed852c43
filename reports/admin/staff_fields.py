"""How staff members are named in the workspace's choices."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User


def staff_label(user: User) -> str:
    name = user.get_full_name()
    return f"{name} ({user.get_username()})" if name else user.get_username()


class StaffChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return staff_label(obj)


class StaffMemberField(forms.ModelMultipleChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return staff_label(obj)
