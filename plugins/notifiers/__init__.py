"""Built-in customer notifiers: `outbox_notifier` (renders and records) and `smtp_notifier`."""
