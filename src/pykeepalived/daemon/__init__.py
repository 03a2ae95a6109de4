"""The running daemon: supervisor, VRRP service, logging."""
