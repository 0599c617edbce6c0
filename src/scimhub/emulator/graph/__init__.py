"""The Microsoft Graph v1.0 subset, under /v1.0/."""
