"""Layer 5, crm: every touch, reply and call kept current in the team's CRM."""
