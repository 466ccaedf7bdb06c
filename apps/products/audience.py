"""Which instances a notice or a release reaches: a preview for staff before they publish.

Version ranges compare semantically (apps/core/versions), which SQL cannot do, so one GROUP BY
returns the product's distinct versions with their counts and the range test runs over those few
versions in Python: the cost follows the number of versions, never the number of instances.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q

from apps.core.versions import Version, in_range
from apps.instances.models import Instance, InstanceStatus

from .models import Notice, Release

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class VersionCount:
    version: str
    alive: int
    total: int


@dataclass
class Audience:
    """Instances whose version matches; `alive` ones (not dead) still ping and will get the answer."""

    versions: list[VersionCount]
    sample: list[Instance] = field(default_factory=list)

    @property
    def alive(self) -> int:
        return sum(v.alive for v in self.versions)

    @property
    def total(self) -> int:
        return sum(v.total for v in self.versions)


def _version_counts(product_id: int) -> list[VersionCount]:
    rows = (Instance.objects.filter(product_id=product_id).order_by().values("version")
            .annotate(total=Count("id"), alive=Count("id", filter=~Q(status=InstanceStatus.DEAD))))
    counts = [VersionCount(row["version"], row["alive"], row["total"]) for row in rows]
    return sorted(counts, key=lambda c: Version(c.version or "0"), reverse=True)


def _sample(product_id: int, versions: list[str], size: int) -> list[Instance]:
    if not versions:
        return []
    return list(Instance.objects.filter(product_id=product_id, version__in=versions)
                .exclude(status=InstanceStatus.DEAD).order_by("-last_seen")[:size])


def version_range_audience(*, product_id: int, min_version: str, max_version: str,
                           sample_size: int = SAMPLE_SIZE) -> Audience:
    """Instances of a product whose version lies in [min, max] (either end may be empty)."""
    matched = [c for c in _version_counts(product_id) if in_range(c.version, min_version, max_version)]
    return Audience(matched, _sample(product_id, [c.version for c in matched if c.alive], sample_size))


def notice_audience(*, notice: Notice, sample_size: int = SAMPLE_SIZE) -> Audience:
    """Instances in the notice's version range (whether the notice is live now is `notice.applies_to`)."""
    return version_range_audience(product_id=notice.product_id, min_version=notice.min_version,
                                  max_version=notice.max_version, sample_size=sample_size)


def notice_is_live(*, notice: Notice, now: datetime) -> bool:
    """The time part of Notice.applies_to, without the version range (same rule as Notice.live_q)."""
    return bool(notice.active and (notice.starts_at is None or notice.starts_at <= now)
                and (notice.ends_at is None or now < notice.ends_at))


@dataclass
class ReleaseAudience:
    on_release: VersionCount
    older: Audience
    newer: int


def release_audience(*, release: Release, sample_size: int = SAMPLE_SIZE) -> ReleaseAudience:
    """Instances on this release, and those older that the answer calls outdated once it is the latest."""
    target = Version(release.version)
    counts = _version_counts(release.product_id)
    on = [c for c in counts if c.version and Version(c.version) == target]
    older = [c for c in counts if c.version and Version(c.version) < target]
    newer = sum(c.alive for c in counts if c.version and target < Version(c.version))
    on_release = VersionCount(release.version, sum(c.alive for c in on), sum(c.total for c in on))
    sample = _sample(release.product_id, [c.version for c in older if c.alive], sample_size)
    return ReleaseAudience(on_release, Audience(older, sample), newer)
