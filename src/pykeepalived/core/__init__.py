"""Shared value types used by every layer."""
