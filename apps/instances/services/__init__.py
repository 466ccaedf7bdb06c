"""Writes that touch several rows of the instance registry, one module per reason to change."""

from apps.instances.state import HeartbeatSeen, InstanceState, InstanceUpdate

from .collection import instances_set_collection
from .erasure import instance_erase
from .heartbeats import (
    instances_add_dropped,
    instances_apply_heartbeats,
    instances_lock_or_create,
    instances_lookup,
)
from .installations import InstallEvidence, InstallStepSeen, installations_link, installations_record
from .labels import instance_set_labels, labels_normalize
from .staleness import HeartbeatCheck, instances_check_heartbeats
from .status_changes import status_changes_claim

__all__ = [
    "HeartbeatCheck",
    "HeartbeatSeen",
    "InstallEvidence",
    "InstallStepSeen",
    "InstanceState",
    "InstanceUpdate",
    "installations_link",
    "installations_record",
    "instance_erase",
    "instance_set_labels",
    "instances_add_dropped",
    "instances_apply_heartbeats",
    "instances_check_heartbeats",
    "instances_lock_or_create",
    "instances_lookup",
    "instances_set_collection",
    "labels_normalize",
    "status_changes_claim",
]
