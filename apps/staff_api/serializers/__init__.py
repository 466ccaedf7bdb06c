"""Serializers of the staff API, one module per resource."""

from .alerts import (
    AlertChannelSerializer,
    AlertMuteSerializer,
    AlertRuleSerializer,
    AlertSerializer,
    ChannelTestResultSerializer,
)
from .events import EventSerializer, InstallationSerializer
from .instances import InstanceSerializer, InstanceUpdateSerializer
from .licenses import LicenseSerializer
from .products import ProductCreateSerializer, ProductSerializer
from .rollups import DailyRollupSerializer, ReportSerializer

__all__ = [
    "AlertChannelSerializer",
    "AlertMuteSerializer",
    "AlertRuleSerializer",
    "AlertSerializer",
    "ChannelTestResultSerializer",
    "DailyRollupSerializer",
    "EventSerializer",
    "InstallationSerializer",
    "InstanceSerializer",
    "InstanceUpdateSerializer",
    "LicenseSerializer",
    "ProductCreateSerializer",
    "ProductSerializer",
    "ReportSerializer",
]
