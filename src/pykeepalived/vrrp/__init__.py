"""VRRP: packets, validation, the instance state machine (pure)."""
