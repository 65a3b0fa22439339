"""The routes a scored lead can take; policies and sequences name them."""

from __future__ import annotations

ROUTES = ("rep_now", "fast_track", "nurture", "disqualified")
