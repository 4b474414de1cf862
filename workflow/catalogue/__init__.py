"""The catalogue: organisations, fields, goals, measures, departments, contacts, steering groups."""
