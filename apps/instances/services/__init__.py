"""Writes that touch several rows of the instance registry, one module per reason to change."""

from .collection import instances_set_collection
from .staleness import HeartbeatCheck, instances_check_heartbeats

__all__ = ["HeartbeatCheck", "instances_check_heartbeats", "instances_set_collection"]
