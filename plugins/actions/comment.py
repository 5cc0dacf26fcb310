"""Built-in action plugin `comment` (being written)."""
