"""Built-in action plugin `appeasement` (being written)."""
