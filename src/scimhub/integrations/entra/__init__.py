"""Microsoft Entra ID (Azure AD): consent, tokens, Graph, the provisioning job, pull sync.

Nothing here knows the emulator: it talks to whatever login and Graph URLs it is given.
"""
