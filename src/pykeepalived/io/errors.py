"""The errors the data planes raise, in one place for all of them."""


class DataplaneUnavailable(Exception):
    """This data plane cannot run here (the reason is the message)."""


class UnsupportedService(ValueError):
    """A service this data plane cannot carry (a firewall mark in the proxy, for instance)."""
