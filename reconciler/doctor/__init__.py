"""`reconcile doctor`: read-only self-checks of a CRM target."""
