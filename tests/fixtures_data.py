"""Fixtures: small commerce database and prompt sets (session-scoped)."""
