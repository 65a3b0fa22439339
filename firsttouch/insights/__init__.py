"""The Revenue Leak Score: where a team's inbound leaks, layer by layer.

Entry points: ``read_export`` + ``report_from_records`` for a CRM export,
``leak_score_from_frame`` for a DataFrame of lead-level rows, and
``leak_score_from_store`` for firsttouch's own tables.
"""

from firsttouch.insights.frames import leak_score_from_frame
from firsttouch.insights.live import leak_score_from_store
from firsttouch.insights.reading import read_export
from firsttouch.insights.report import report_from_records
from firsttouch.insights.results import LeakReport
from firsttouch.insights.settings import LeakSettings

__all__ = [
    "LeakReport",
    "LeakSettings",
    "leak_score_from_frame",
    "leak_score_from_store",
    "read_export",
    "report_from_records",
]
