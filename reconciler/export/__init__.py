"""`reconcile export`: manifests for what a CRM has now (model, secret names, YAML files)."""
