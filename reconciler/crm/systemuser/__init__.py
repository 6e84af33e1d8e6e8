"""The SuperOffice system user flow: a server-side app's unattended login.

The app signs the tenant's system user token with its RSA key, exchanges it at
the login service for a JWT carrying a ticket, and calls the tenant API with
`SOTicket` + `SO-AppToken`. Vendor docs (SuperOfficeDocs/superoffice-docs):
docs/en/api/authentication/online/auth-application/ and
docs/en/api/authentication/online/validate-security-tokens.md.
"""
