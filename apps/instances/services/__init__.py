"""Writes that touch several rows of the instance registry, one module per reason to change."""

from .collection import instances_set_collection
from .erasure import instance_erase
from .staleness import HeartbeatCheck, instances_check_heartbeats

__all__ = ["HeartbeatCheck", "instance_erase", "instances_check_heartbeats", "instances_set_collection"]
