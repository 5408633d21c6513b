"""`baton serve`: the FastAPI app, its channels, limits, metrics and outbox worker."""
