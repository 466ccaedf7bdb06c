"""Staff's labels on instances: validated, deduplicated, replaced as a whole."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.instances.models import LABEL_MAX_LENGTH, LABELS_PER_INSTANCE, Instance, InstanceLabel


def labels_normalize(values: Iterable[object]) -> list[str]:
    """Trimmed, deduplicated labels in their first order; raises ValidationError naming the bad one.

    Commas are refused because the admin edits labels as one comma-separated field.
    """
    labels: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ValidationError("Each label must be a string.", code="invalid")
        label = value.strip()
        if not label:
            raise ValidationError("A label cannot be empty.", code="invalid")
        if len(label) > LABEL_MAX_LENGTH:
            raise ValidationError(f"A label has at most {LABEL_MAX_LENGTH} characters.", code="max_length")
        if "," in label or not label.isprintable():
            raise ValidationError(f"{label[:20]!r}: no commas or control characters in a label.", code="invalid")
        if label not in labels:
            labels.append(label)
    if len(labels) > LABELS_PER_INSTANCE:
        raise ValidationError(f"At most {LABELS_PER_INSTANCE} labels per instance.", code="max_length")
    return labels


def instance_set_labels(*, instance: Instance, labels: Iterable[object]) -> list[str]:
    """Replace the instance's labels; returns them as stored. Only the differences are written."""
    wanted = labels_normalize(labels)
    with transaction.atomic():
        # The instance row lock serialises two staff edits of the same instance.
        Instance.objects.select_for_update().filter(pk=instance.pk).values_list("pk").first()
        current = set(InstanceLabel.objects.filter(instance=instance).values_list("label", flat=True))
        InstanceLabel.objects.filter(instance=instance).exclude(label__in=wanted).delete()
        InstanceLabel.objects.bulk_create(
            [InstanceLabel(instance=instance, label=label) for label in wanted if label not in current],
            ignore_conflicts=True)
    return wanted
