"""Built-in action plugin `refunds` (being written)."""
