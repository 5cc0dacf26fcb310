"""Built-in action plugin `reorder` (being written)."""
