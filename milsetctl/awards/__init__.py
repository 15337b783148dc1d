"""Awards from a ranking: the national Qualifier Award per category, the global places and gallery."""
