"""Adapters to the operating system: files, sockets, netlink, processes."""
