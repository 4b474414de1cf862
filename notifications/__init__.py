"""Rendering, the outbox, sending and digests: everything that leaves zielflow as email."""
