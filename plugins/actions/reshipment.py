"""Built-in action plugin `reshipment` (being written)."""
