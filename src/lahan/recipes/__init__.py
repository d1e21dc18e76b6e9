"""Recipes: one file per job, built from the library's components (data, models, train)."""
