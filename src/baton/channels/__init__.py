"""Channel adapters: verify, parse and send for each messaging provider."""
