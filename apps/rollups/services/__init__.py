"""Rollup and report services: `daily` computes the rollup tables, `reports` reads them."""

from .daily import day_bounds, days_between, rollup_build_day, rollups_build
from .reports import (
    Period,
    last_full_week,
    report_content,
    report_create_on_demand,
    report_send,
    report_text,
    reports_send_weekly,
)

__all__ = [
    "Period",
    "day_bounds",
    "days_between",
    "last_full_week",
    "report_content",
    "report_create_on_demand",
    "report_send",
    "report_text",
    "reports_send_weekly",
    "rollup_build_day",
    "rollups_build",
]
