"""Built-in action plugin `cancel` (being written)."""
