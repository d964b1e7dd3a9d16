"""Builders of real-text datasets from files already on the machine (no downloads)."""
