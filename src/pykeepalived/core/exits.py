"""keepalived's exit statuses, which scripts and units around it test (KEEPALIVED_EXIT_*, KEEPALIVED_CHK_EXIT_*)."""

EXIT_OK = 0
# The configuration cannot run (also what a child tells its parent: do not restart me with it).
EXIT_CONFIG = 4
# --config-test: it runs, but something was reported.
EXIT_CONFIG_TEST = 5
