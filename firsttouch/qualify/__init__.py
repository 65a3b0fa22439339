"""Layer 3, qualify: enrichment, a 0-100 fit score with reasons, a brief, a route."""
