"""Built-in payment gateway `offline` (being written)."""
