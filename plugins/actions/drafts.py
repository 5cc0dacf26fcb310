"""Built-in action plugin `drafts` (being written)."""
