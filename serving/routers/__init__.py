"""One router per resource: scores, the model, operations."""
