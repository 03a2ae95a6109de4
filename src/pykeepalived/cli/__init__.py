"""Command lines: the keepalived-compatible daemon and the admin command."""
