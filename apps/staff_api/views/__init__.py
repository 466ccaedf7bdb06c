"""Views of the staff API, one module per resource group."""

from .export import InstanceExportView
from .instances import InstanceViewSet
from .products import ProductViewSet
from .readonly import DailyRollupViewSet, EventViewSet, InstallationViewSet, LicenseViewSet, ReportViewSet

__all__ = ["DailyRollupViewSet", "EventViewSet", "InstallationViewSet", "InstanceExportView", "InstanceViewSet",
           "LicenseViewSet", "ProductViewSet", "ReportViewSet"]
