"""The HTTP entry point: webhooks, REST API, dashboard, booking and tracking."""

from firsttouch.web.app import create_app

__all__ = ["create_app"]
