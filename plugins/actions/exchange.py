"""Built-in action plugin `exchange` (being written)."""
