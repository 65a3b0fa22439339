"""Every router the app mounts, in one list, so adding an area is one line."""

from __future__ import annotations

from fastapi import FastAPI


def include_routers(app: FastAPI) -> None:
    """Mount the routers of capture, respond, the dashboard and the API."""
