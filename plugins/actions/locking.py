"""Built-in action plugin `locking` (being written)."""
