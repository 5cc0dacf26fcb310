"""Built-in payment gateway `message` (being written)."""
