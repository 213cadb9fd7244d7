"""Reusable widgets: linked preview plots, PSTH, file tables."""
