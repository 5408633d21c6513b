"""The router: finds a conversation's owner and runs the turn across bots."""
