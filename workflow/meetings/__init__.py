"""Meetings of bodies: agenda (proposed from the data), guests, attendance, invitations, minutes."""
