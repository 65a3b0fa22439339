"""The outbound wire: SMTP, Twilio-compatible SMS and voice, alerts, outbox."""
