"""Layer 2, respond: a first touch inside the SLA, through the consent gate."""
