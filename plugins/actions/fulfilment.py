"""Built-in action plugin `fulfilment` (being written)."""
