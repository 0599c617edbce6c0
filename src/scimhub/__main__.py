"""`python -m scimhub` runs the CLI."""

from .cli import app

app()
