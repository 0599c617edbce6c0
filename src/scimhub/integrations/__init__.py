"""Integrations with identity providers."""
