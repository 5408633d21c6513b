"""The model: ids, events, conversation state and errors. Standard library only."""
