"""check/compile: from the configuration to the planned checks, pure: keepalived's inheritance of each value
from the checker, the real server or the virtual server, alpha, and the MISC_CHECKs whose script cannot run."""

from __future__ import annotations

from memfs import config_from

from pykeepalived.check.compile import Endpoint, compile_checks
from pykeepalived.config.model import MiscCheck

CONFIG = """
virtual_server 10.99.0.100 80 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    protocol TCP
    retry 4
    real_server 10.99.0.11 8080 {
        connect_timeout 2
        alpha
        TCP_CHECK {
            delay_before_retry 7
        }
        HTTP_GET {
            connect_port 8081
            connect_timeout 1
            url {
                path /health
            }
        }
    }
    real_server 10.99.0.12 8080 {
        MISC_CHECK {
            misc_path /bin/true
        }
    }
}
"""


def test_each_check_takes_what_its_checker_real_server_or_virtual_server_sets() -> None:
    result = config_from(CONFIG)
    assert result.config is not None
    policies, planned = compile_checks(result.config, lambda _misc: True)
    [policy] = policies
    tcp, http, misc = planned
    assert (tcp.endpoint, tcp.delay_loop, tcp.delay_before_retry, tcp.policy.retry) == (
        Endpoint("10.99.0.11", 8080, 2.0),
        6.0,
        7.0,
        4,
    )
    assert (http.endpoint, http.description) == (Endpoint("10.99.0.11", 8081, 1.0), "[10.99.0.11]:tcp:8081")
    assert isinstance(misc.checker, MiscCheck) and misc.endpoint.timeout == 6.0  # misc_timeout: the delay_loop
    # alpha: the real server starts down, and its virtual server's policy knows it.
    assert tcp.alpha and not tcp.policy.up and tcp.real_server.checkers == [tcp.policy, http.policy]
    assert policy.rs_alive == {tcp.real_server.key: False, misc.real_server.key: True}
    assert all(check.virtual_server is policy for check in planned)


def test_a_misc_check_whose_script_cannot_run_is_left_out() -> None:
    result = config_from(CONFIG)
    assert result.config is not None
    _, planned = compile_checks(result.config, lambda _misc: False)
    assert [check.description for check in planned] == ["[10.99.0.11]:tcp:8080", "[10.99.0.11]:tcp:8081"]
