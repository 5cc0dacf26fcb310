"""Built-in action plugin `hold` (being written)."""
