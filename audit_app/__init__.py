"""audit_app package."""
