"""zielflow: the yearly target-agreement cycle of municipal integration planning."""
