"""Cloud code: tenants' Python bundles, run in bubblewrap sandboxes (docs/cloudcode.md)."""
