"""Servers the tests run: a free loopback port, a web server inside a lab router's namespace."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from pykeepalived.lab.netns import Lab, Router, run

VIP, PORT = "10.99.1.1", 80
# Each request on a new connection, from `source` if given; a failure is an answer too.
CLIENT_SCRIPT = """
import http.client, json, sys
count, host, port, source = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
answers = []
for _ in range(count):
    connection = http.client.HTTPConnection(host, port, timeout=2, source_address=(source, 0) if source else None)
    try:
        connection.request("GET", "/who")
        answers.append(connection.getresponse().read().decode())
    except OSError as error:
        answers.append("failed: %s" % error)
    finally:
        connection.close()
print(json.dumps(answers))
"""

# A connection to the virtual server opened now, used (one request) when told to.
HELD_CONNECTION = """
import socket, sys
held = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print("open", flush=True)
sys.stdin.readline()
held.sendall(b"GET /who HTTP/1.0\\r\\n\\r\\n")
reply = b""
while chunk := held.recv(4096):
    reply += chunk
print(reply.split(b"\\r\\n\\r\\n", 1)[1].decode(), flush=True)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_web_server(
    lab: Lab, router: Router, root: Path, port: int = 8080, address: str = ""
) -> subprocess.Popen[bytes]:
    """Python's http.server on `address` (the router's by default) and `port`, serving `root`; the lab stops it."""
    process = subprocess.Popen(
        ["ip", "netns", "exec", router.namespace, sys.executable, "-m", "http.server", str(port), "--bind",
         address or router.address, "--directory", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    lab.started.append(process)
    return process


def start_named_web_server(lab: Lab, router: Router, port: int = 8080, address: str = "") -> subprocess.Popen[bytes]:
    """A web server whose /who answers the router's name."""
    root = lab.workdir / f"www{router.index}"
    root.mkdir(exist_ok=True)
    (root / "who").write_text(f"r{router.index}")
    return start_web_server(lab, router, root, port, address)


def requests(lab: Lab, count: int, source: str = "") -> list[str]:
    """What the lab's client got for `count` requests to the virtual server."""
    script = [sys.executable, "-c", CLIENT_SCRIPT, str(count), VIP, str(PORT), source]
    out = run("ip", "netns", "exec", lab.client, *script)
    return list(json.loads(out.stdout))


def wait_for_answers(lab: Lab, expected: set[str], within: float) -> None:
    deadline = time.monotonic() + within
    while set(answers := requests(lab, 6)) != expected:
        assert time.monotonic() < deadline, f"answers {answers}, expected only {expected}"
        time.sleep(0.2)


def hold_connection(lab: Lab) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        ["ip", "netns", "exec", lab.client, sys.executable, "-c", HELD_CONNECTION, VIP, str(PORT)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    lab.started.append(holder)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
    return holder


def finish(holder: subprocess.Popen[str]) -> str:
    output, _ = holder.communicate("go\n", timeout=10)
    return output.strip()
