"""Fixtures: one user of each role in a store."""
