"""Messages in and out (SPEC §9): inbound ones applied once (`inbound`, `intake`, `inbox`,
`handlers`, the bulk `ingest_*` and `parallel_import`, `dead_letters`), outbound ones built
(`outbound`) and relayed from the outbox (`outbox`, `outbox_read`)."""
