"""Directory sync from Active Directory and other LDAP directories: an organisation's LDAP
source read with ldap3 (pure Python, so `pip install` needs no C headers) and applied by
the pull engine every sync source shares (`integrations.pull`)."""
