"""One adapter per provider: its wire format in, ``InboundEvent`` out.

Each module parses its provider's documented payload and checks the
provider's own signature scheme without touching the database. The web
routes in ``firsttouch.web.capture_webhooks`` (and, for the inbound-mail
providers added since, ``capture_email_webhooks``) verify, parse and then
hand the events to ``firsttouch.capture.ingest``. Two modules store through
``ingest`` themselves: ``twilio_calls`` (a call's later callbacks joined
to it) and ``imap`` (polling, with its UID cursor in the same commit).
"""
