"""Built-in action plugin `returns` (being written)."""
