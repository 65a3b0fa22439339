"""Job handlers of this layer, by job kind; the worker entry point maps them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from firsttouch.jobs.runner import Handler
    from firsttouch.runtime import Runtime


def handlers(runtime: Runtime) -> dict[str, Handler]:
    """Return this layer's handlers, keyed by the job kinds it owns."""
    return {}
