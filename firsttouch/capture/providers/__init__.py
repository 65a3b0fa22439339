"""One adapter per provider: its wire format in, ``InboundEvent`` out.

Each module parses its provider's documented payload and checks the
provider's own signature scheme; none of them touches the database. The web
routes in ``firsttouch.web.capture_webhooks`` verify, parse and then hand
the events to ``firsttouch.capture.ingest``.
"""
