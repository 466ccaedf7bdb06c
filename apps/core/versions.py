"""Tolerant version comparison for the versions products report ("v1.9.15", "v1.0.0-alpha36", "0.1.9.1")."""

import re
from functools import total_ordering

_NUMBER = re.compile(r"\d+")


@total_ordering
class Version:
    """Numeric parts compare numerically; a pre-release suffix sorts before the release itself."""

    def __init__(self, text: str) -> None:
        self.text = text
        core, _, pre = text.strip().lstrip("vV").partition("-")
        self.parts = tuple(int(n) for n in _NUMBER.findall(core))
        self.pre = pre

    def _key(self) -> tuple:
        # A release ranks above any of its pre-releases: (parts, 1, "") > (parts, 0, "alpha36").
        return (self.parts, 0 if self.pre else 1, self.pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other: "Version") -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Version({self.text!r})"


def is_outdated(current: str, latest: str) -> bool:
    if not current or not latest:
        return False
    return Version(current) < Version(latest)


def in_range(version: str, minimum: str = "", maximum: str = "") -> bool:
    """Whether `version` lies in [minimum, maximum]; an empty bound is open."""
    if not version:
        return not minimum and not maximum
    v = Version(version)
    if minimum and v < Version(minimum):
        return False
    return not (maximum and Version(maximum) < v)
