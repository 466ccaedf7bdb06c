"""Views of the staff API, one module per resource group."""

from .alerts import AlertChannelViewSet, AlertRuleViewSet, AlertViewSet
from .export import InstanceExportView
from .instances import InstanceViewSet
from .products import ProductViewSet
from .readonly import DailyRollupViewSet, EventViewSet, InstallationViewSet, LicenseViewSet, ReportViewSet

__all__ = [
    "AlertChannelViewSet",
    "AlertRuleViewSet",
    "AlertViewSet",
    "DailyRollupViewSet",
    "EventViewSet",
    "InstallationViewSet",
    "InstanceExportView",
    "InstanceViewSet",
    "LicenseViewSet",
    "ProductViewSet",
    "ReportViewSet",
]
