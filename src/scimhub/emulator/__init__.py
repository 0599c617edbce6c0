"""A local Microsoft Entra ID: tenants, apps, consent, OAuth2, a Graph subset and the
provisioning service that pushes SCIM. It imports nothing of the hub: it plays an
independent vendor so it catches the hub's mistakes instead of sharing them."""
