"""Layer 1, capture: every inbound from every channel, committed once,
tied to one contact and given a provisional owner."""
