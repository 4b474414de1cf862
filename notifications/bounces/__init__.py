"""Bounced mail: which addresses the mail system reported undeliverable, and what follows."""
