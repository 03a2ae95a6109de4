"""Raw-socket scripts for a lab's namespace (`python -c SCRIPT SECONDS`): for that many seconds, every frame of
one EtherType on the namespace's links, each reported by a few lines of Python over `frame` (the whole
Ethernet frame); `listening` first, once the socket is open. Times are time.monotonic(): one clock for
every namespace."""

from __future__ import annotations

import textwrap

IPV4, ARP, IPV6 = 0x0800, 0x0806, 0x86DD

_LOOP = """
import json, socket, sys, time
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons({ethertype}))
sock.settimeout(0.1)
deadline = time.monotonic() + float(sys.argv[1])
print("listening", flush=True)
while time.monotonic() < deadline:
    try:
        frame = sock.recv(2048)
    except TimeoutError:
        continue
"""


def sniffer(ethertype: int, report: str) -> str:
    return _LOOP.format(ethertype=ethertype) + textwrap.indent(textwrap.dedent(report), "    ")


def reports(output: str) -> list[str]:
    """The script's report lines, without its `listening`."""
    return [line for line in output.splitlines() if line != "listening"]
