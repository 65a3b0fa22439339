"""One module per layer; each measures its layer from a ``Basis``.

Every ``measure`` returns a ``LayerResult`` and fills its share of the
chart data. None of them does I/O.
"""

from firsttouch.insights.layers.capture import measure_capture
from firsttouch.insights.layers.crm import measure_crm
from firsttouch.insights.layers.nurture import measure_nurture
from firsttouch.insights.layers.qualify import measure_qualify
from firsttouch.insights.layers.respond import measure_respond

__all__ = [
    "measure_capture",
    "measure_crm",
    "measure_nurture",
    "measure_qualify",
    "measure_respond",
]
