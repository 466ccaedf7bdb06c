"""Durations stored as seconds, edited and shown as minutes, hours or days."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

UNITS = (("days", 86400), ("hours", 3600), ("minutes", 60))


def split_seconds(seconds: int | None) -> tuple[int | None, str]:
    """The largest unit that holds the value exactly: 2592000 → (30, "days"), 5400 → (90, "minutes")."""
    if seconds is None:
        return None, "hours"
    for unit, size in UNITS:
        if seconds % size == 0:
            return seconds // size, unit
    return round(seconds / 60), "minutes"


def humanize_seconds(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    amount, unit = split_seconds(seconds)
    return f"{amount} {unit[:-1] if amount == 1 else unit}"


class DurationWidget(forms.MultiWidget):

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        units = forms.Select(choices=[(unit, unit) for unit, _ in UNITS], attrs={"class": "duration-unit"})
        super().__init__([forms.NumberInput(attrs={"min": 0, "step": 1, "class": "duration-amount"}), units], attrs)

    def decompress(self, value: Any) -> list[Any]:
        return list(split_seconds(int(value))) if value not in (None, "") else [None, "hours"]


class DurationSecondsField(forms.MultiValueField):
    """An amount and a unit in the form, seconds in the model."""

    widget = DurationWidget

    def __init__(self, *, required: bool = True, **kwargs: Any) -> None:
        kwargs.pop("max_value", None)
        kwargs.pop("min_value", None)
        # The unit always has a value, so "empty" is judged on the amount alone (in compress).
        super().__init__(fields=(forms.IntegerField(min_value=0, max_value=10 * 365, required=False),
                                 forms.ChoiceField(choices=[(unit, unit) for unit, _ in UNITS], required=False)),
                         required=required, require_all_fields=False, **kwargs)

    def compress(self, data_list: list[Any]) -> int | None:
        if not data_list or data_list[0] in (None, ""):
            if self.required:
                raise ValidationError("Enter a duration.", code="required")
            return None
        amount, unit = data_list
        return int(amount) * dict(UNITS)[unit or "hours"]
