"""Writes that touch several rows of the instance registry, one module per reason to change."""

from .collection import instances_set_collection

__all__ = ["instances_set_collection"]
