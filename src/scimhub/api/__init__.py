"""HTTP: the app factory, SCIM routes, tracking ids and error envelopes."""
