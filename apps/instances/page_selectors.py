"""Reads behind the admin's instance page. Each is one query, bounded by a limit or a page size,
so the page costs the same for an instance with ten events as for one with a year of them."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min, QuerySet, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, NullIf

from apps.core.admin_utils import uncounted_page
from apps.events.models import Event, EventKind

from .models import CollectionChange, Installation, Instance, InstanceLabel, StatusChange

HISTORY_LIMIT = 20
VERSIONS_LIMIT = 20
EVENTS_PER_PAGE = 20
METRICS_LIMIT = 300

# Where each seed product's heartbeat carries its version: Appsmith and Hasura `version`, Hasura
# Enterprise `hasura_version`, Wasp `wasp_version`, FlowFuse `env.flowforge`.
VERSION_PATHS = ("version", "hasura_version", "wasp_version", "env__flowforge")


@dataclass(frozen=True)
class VersionSeen:
    version: str
    first_seen: datetime
    last_seen: datetime
    heartbeats: int


@dataclass(frozen=True)
class EventsPage:
    rows: list[Event]
    number: int
    has_older: bool


def instance_for_page(*, pk: Any) -> Instance | None:
    return Instance.objects.select_related("product", "license").filter(pk=pk).first()


def instance_status_history(*, instance: Instance, limit: int = HISTORY_LIMIT) -> list[StatusChange]:
    return list(StatusChange.objects.filter(instance=instance).order_by("-at", "-id")[:limit])


def instance_collection_history(*, instance: Instance, limit: int = HISTORY_LIMIT) -> list[CollectionChange]:
    return list(CollectionChange.objects.filter(instance=instance).select_related("changed_by")
                .order_by("-at", "-id")[:limit])


def instance_installations(*, instance: Instance, limit: int = 10) -> list[Installation]:
    return list(Installation.objects.filter(instance=instance).order_by("-last_seen")[:limit])


def _version_expression() -> Coalesce:
    return Coalesce(*(NullIf(KT(f"properties__{path}"), Value("", output_field=TextField()))
                      for path in VERSION_PATHS), output_field=TextField())


def instance_versions_seen(*, instance: Instance, limit: int = VERSIONS_LIMIT) -> list[VersionSeen]:
    """Versions the instance reported in its stored heartbeats, with when each was first and last seen.

    One GROUP BY over this instance's heartbeat events (index on instance, timestamp). Heartbeats kept
    at the `heartbeat` collection level have their properties emptied, so their version is unknown;
    the instance's current version is always on the page beside this.
    """
    rows = (Event.objects.filter(instance=instance, kind=EventKind.HEARTBEAT)
            .annotate(seen_version=_version_expression())
            .exclude(seen_version__isnull=True)
            .values("seen_version")
            .annotate(first=Min("timestamp"), last=Max("timestamp"), n=Count("id"))
            .order_by("-last")[:limit])
    return [VersionSeen(row["seen_version"], row["first"], row["last"], row["n"]) for row in rows]


def instance_events_page(*, instance: Instance, page: object, per_page: int = EVENTS_PER_PAGE) -> EventsPage:
    """Newest events first, one page without counting them all."""
    queryset: QuerySet[Event] = Event.objects.filter(instance=instance).order_by("-timestamp", "-id")
    rows, number, has_older = uncounted_page(queryset, page=page, per_page=per_page)
    return EventsPage(rows, number, has_older)


def flatten_metrics(metrics: Any, *, limit: int = METRICS_LIMIT) -> list[tuple[str, list[tuple[str, str]]]]:
    """The latest metrics as (kind of ping, [(dotted key, value)]) for a readable table.

    Lists (Hasura's Prometheus-style series) are shown as compact "labels=value" items.
    """
    if not isinstance(metrics, dict):
        return [("metrics", [("value", str(metrics))])] if metrics else []
    shown = 0
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for kind, values in sorted(metrics.items()):
        rows: list[tuple[str, str]] = []
        for key, value in _flatten(values if isinstance(values, dict) else {"value": values}):
            if shown >= limit:
                break
            rows.append((key, value))
            shown += 1
        groups.append((kind, rows))
    return groups


def _flatten(value: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key in sorted(value):
        item, name = value[key], f"{prefix}{key}"
        if isinstance(item, dict):
            out.extend(_flatten(item, f"{name}.") if item else [(name, "{}")])
        elif isinstance(item, list):
            out.append((name, ", ".join(_series_item(x) for x in item) or "[]"))
        else:
            out.append((name, "—" if item is None else str(item).lower() if isinstance(item, bool) else str(item)))
    return out


def _series_item(item: Any) -> str:
    if isinstance(item, dict) and "value" in item:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(item.items()) if k != "value")
        return f"{item['value']} ({labels})" if labels else str(item["value"])
    return str(item)


def instance_labels(*, instance: Instance) -> list[str]:
    return list(InstanceLabel.objects.filter(instance=instance).order_by("label").values_list("label", flat=True))
