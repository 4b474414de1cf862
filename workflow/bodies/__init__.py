"""Bodies (Gremien): who steers and advises, their members over time, and their meetings."""
