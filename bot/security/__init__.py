"""Who may reach what: signed tokens, request limits and the redaction of personal data (docs/security.md)."""
