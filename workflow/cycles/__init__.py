"""Cycles: a year of the process, each measure's place in it, and what was agreed and reviewed."""
