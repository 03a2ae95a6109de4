"""Health-check probes: one module per keepalived checker, each an async function returning a Result."""
