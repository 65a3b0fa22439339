"""firsttouch: answer every inbound lead inside five minutes, with context."""

__version__ = "0.1.0"
