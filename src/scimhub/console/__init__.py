"""The admin console: server-rendered pages under /console for an organisation's admins.

Pages read through the directory (the same SCIM layer the API uses, so filtering and paging
happen in SQL); everything that touches Entra goes through the integration API, called by
the pages' JavaScript with the session cookie and a CSRF header.
"""
