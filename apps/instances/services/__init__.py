"""Writes that touch several rows of the instance registry, one module per reason to change."""

from .collection import instances_set_collection
from .erasure import instance_erase

__all__ = ["instance_erase", "instances_set_collection"]
