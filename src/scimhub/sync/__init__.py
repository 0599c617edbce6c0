"""Scheduling sync work: in-process on one hub (this module); distributed workers on
PostgreSQL are the scale-out path (see the open scale-out issue)."""
