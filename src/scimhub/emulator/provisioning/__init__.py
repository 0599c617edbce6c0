"""The provisioning service: synchronization jobs that push SCIM the way Entra does."""
