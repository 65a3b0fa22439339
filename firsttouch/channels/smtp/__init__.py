"""Email over SMTP: STARTTLS or TLS, auth, optional DKIM signing."""

from firsttouch.channels.smtp.sender import SmtpEmail, build_mime, make_message_id
from firsttouch.channels.smtp.wire import render_email

__all__ = ["SmtpEmail", "build_mime", "make_message_id", "render_email"]
