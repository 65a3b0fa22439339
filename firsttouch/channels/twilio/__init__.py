"""SMS through a Twilio-compatible REST API (2010-04-01)."""

from firsttouch.channels.twilio.client import TwilioClient
from firsttouch.channels.twilio.sms import SenderPool, TwilioSms

__all__ = ["SenderPool", "TwilioClient", "TwilioSms"]
