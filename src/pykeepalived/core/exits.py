"""keepalived's exit statuses, which scripts and units around it test (KEEPALIVED_EXIT_*, KEEPALIVED_CHK_EXIT_*)."""

from .diagnostics import Status

EXIT_OK = 0
# KEEPALIVED_EXIT_CONFIG: the parser gave up on a line (a keyword missing its parameter).
EXIT_PARSE = 2
# The configuration cannot run (also what a child tells its parent: do not restart me with it).
EXIT_CONFIG = 4
# --config-test: it runs, but something was reported.
EXIT_CONFIG_TEST = 5
# --config-test: scripts would run without enable_script_security.
EXIT_CONFIG_TEST_SECURITY = 6

CONFIG_TEST_EXITS = {
    Status.OK: EXIT_OK,
    Status.CANNOT_RUN: EXIT_CONFIG,
    Status.REPORTED: EXIT_CONFIG_TEST,
    Status.SECURITY: EXIT_CONFIG_TEST_SECURITY,
    Status.GAVE_UP: EXIT_PARSE,
}
