"""Celery tasks: thin wrappers that open one unit of work and call the services."""
