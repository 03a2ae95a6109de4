"""Where the proxy process leaves its pid and its SIGUSR2 dump: kept apart so that pyipvsadm, which only
reads them, does not load the proxy itself."""

STATS_DUMP = "/tmp/pykeepalived_proxy.stats"
DEFAULT_PIDFILE = "/run/pykeepalived_proxy.pid"
