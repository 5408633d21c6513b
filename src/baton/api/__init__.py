"""The management API (/v1): API keys, contacts, conversations and operator actions."""
