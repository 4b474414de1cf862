"""The Integrationskonferenz: actors, their consent, invitations, the survey on the day and
the actors' reports of their activities."""
