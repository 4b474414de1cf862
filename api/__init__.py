"""The HTTP side: JSON API under /api/v1, the dashboard pages and the contacts' forms."""
