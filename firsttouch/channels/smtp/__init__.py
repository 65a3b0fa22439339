"""Email over SMTP: STARTTLS or TLS, auth, optional DKIM signing."""

from firsttouch.channels.smtp.sender import SmtpEmail, build_mime, make_message_id

__all__ = ["SmtpEmail", "build_mime", "make_message_id"]
