"""Layer 4, nurture: sequences on the buyer's clock, paused by a human reply."""
