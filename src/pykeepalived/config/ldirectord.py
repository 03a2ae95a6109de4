"""ldirectord.cf to keepalived.conf: the same virtual services, real servers, checks and fallbacks.

ldirectord's ideas map onto keepalived's: `checktype` onto a checker block, `fallback` onto sorry_server,
`quiescent` onto inhibit_on_failure, `emailalert` onto notification_email with smtp_alert. Directives with no
keepalived counterpart are listed as warnings, with their line, and left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.diagnostics import Diagnostic, Location, Severity

FORWARDING = {"gate": "DR", "masq": "NAT", "ipip": "TUN"}
NEGOTIATE = {"http": "HTTP_GET", "https": "SSL_GET", "smtp": "SMTP_CHECK", "dns": "DNS_CHECK"}
IGNORED = {"logfile", "autoreload", "callback", "supervised", "fork", "cleanstop", "maintenancedir", "comment",
           "servicename", "emailalertfreq", "emailalertstatus", "readdquiescent", "monitorfile", "failurecount",
           "httpmethod"}  # fmt: skip


@dataclass
class Service:
    where: Location
    address: str
    port: int | None
    fwmark: int | None = None
    settings: dict[str, str] = field(default_factory=dict)
    reals: list[tuple[str, int | None, str, int]] = field(default_factory=list)


def _split_address(text: str) -> tuple[str, int | None]:
    """`10.0.0.1:80`, `[2001:db8::1]:80` or a bare address."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    host, _, port = text.rpartition(":")
    if host and port.isdigit() and host.count(":") == 0:
        return host, int(port)
    return text, None


def parse(text: str, file: str) -> tuple[dict[str, str], list[Service], list[Diagnostic]]:
    global_settings: dict[str, str] = {}
    services: list[Service] = []
    diagnostics: list[Diagnostic] = []
    current: Service | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indented = line[0] in " \t"
        key, _, value = line.strip().partition("=")
        key, value = key.strip().lower(), value.strip().strip('"')
        where = Location(file, number)
        if key == "virtual":
            host, port = _split_address(value)
            current = Service(where, host, port, int(value) if value.isdigit() else None)
            services.append(current)
        elif indented and current is not None:
            if key == "real":
                words = value.split()
                host, port = _split_address(words[0])
                method = words[1] if len(words) > 1 else "gate"
                weight = int(words[2]) if len(words) > 2 and words[2].isdigit() else 1
                current.reals.append((host, port, method, weight))
            else:
                current.settings[key] = value
        else:
            current = None
            global_settings[key] = value
        if key not in KNOWN:
            diagnostics.append(Diagnostic(Severity.WARNING, f"ldirectord directive '{key}' has no keepalived "
                                                            "counterpart - left out", where))  # fmt: skip
    return global_settings, services, diagnostics


KNOWN = {"virtual", "real", "fallback", "service", "scheduler", "protocol", "checktype", "checkport", "request",
         "receive", "virtualhost", "persistent", "netmask", "checktimeout", "negotiatetimeout", "connecttimeout",
         "checkinterval", "quiescent", "emailalert", "smtp", "checkcommand", "login", "passwd", "database",
         "secret", "weight", *IGNORED}  # fmt: skip


def _setting(service: Service, globals_: dict[str, str], key: str, default: str = "") -> str:
    return service.settings.get(key, globals_.get(key, default))


def convert(text: str, file: str = "ldirectord.cf") -> tuple[str, list[Diagnostic]]:
    """The keepalived.conf text for an ldirectord.cf, and what could not be carried over."""
    globals_, services, diagnostics = parse(text, file)
    out: list[str] = [f"# converted from {file} by pykeepalivedctl convert-ldirectord"]
    email = globals_.get("emailalert")
    if email:
        out += ["global_defs {", "    notification_email {", f"        {email}", "    }",
                "    notification_email_from ldirectord@localhost",
                f"    smtp_server {globals_.get('smtp', '127.0.0.1')}", "    smtp_alert_checker", "}"]  # fmt: skip
    for service in services:
        out += _virtual_server(service, globals_)
    return "\n".join(out) + "\n", diagnostics


def _virtual_server(service: Service, globals_: dict[str, str]) -> list[str]:
    protocol = _setting(service, globals_, "protocol", "tcp").lower()
    header = f"fwmark {service.fwmark}" if service.fwmark is not None else f"{service.address} {service.port or 0}"
    methods = {FORWARDING.get(method, "DR") for _, _, method, _ in service.reals} or {"DR"}
    lines = [
        f"virtual_server {header} {{",
        f"    delay_loop {_setting(service, globals_, 'checkinterval', '5')}",
        f"    lb_algo {_setting(service, globals_, 'scheduler', 'wrr')}",
        f"    lb_kind {sorted(methods)[0]}",
    ]
    if protocol in ("tcp", "udp"):
        lines.append(f"    protocol {protocol.upper()}")
    persistent = _setting(service, globals_, "persistent")
    if persistent:
        lines.append(f"    persistence_timeout {persistent}")
        netmask = _setting(service, globals_, "netmask")
        if netmask:
            lines.append(f"    persistence_granularity {netmask}")
    fallback = _setting(service, globals_, "fallback")
    if fallback:
        host, port = _split_address(fallback.split()[0])
        lines.append(f"    sorry_server {host} {port or service.port or 0}")
    quiescent = _setting(service, globals_, "quiescent", "yes").lower() in ("yes", "true", "1")
    for host, port, method, weight in service.reals:
        lines.append(f"    real_server {host} {port or service.port or 0} {{")
        lines.append(f"        weight {weight}")
        if len(methods) > 1:
            lines.append(f"        lvs_method {FORWARDING.get(method, 'DR')}")
        if quiescent:
            lines.append("        inhibit_on_failure")
        lines += [f"        {line}" for line in _checker(service, globals_, host, port)]
        lines.append("    }")
    lines.append("}")
    return lines


def _checker(service: Service, globals_: dict[str, str], host: str, port: int | None) -> list[str]:
    checktype = _setting(service, globals_, "checktype", "negotiate").lower()
    checkport = _setting(service, globals_, "checkport")
    timeout = _setting(service, globals_, "negotiatetimeout") or _setting(service, globals_, "checktimeout", "5")
    common = [f"    connect_timeout {timeout}"] + ([f"    connect_port {checkport}"] if checkport else [])
    if checktype in ("off", "on"):
        return []
    if checktype == "ping":
        return ["PING_CHECK {", *common, "}"]
    if checktype == "external":
        command = _setting(service, globals_, "checkcommand", "/bin/true")
        arguments = " ".join([service.address, str(service.port or 0), host, str(port or 0)])
        # keepalived.conf quotes with double quotes only.
        return ["MISC_CHECK {", f'    misc_path "{command} {arguments}"',
                f"    misc_timeout {timeout}", "}"]  # fmt: skip
    name = _setting(service, globals_, "service", "http").lower()
    if checktype == "connect" or name not in NEGOTIATE:
        return ["TCP_CHECK {", *common, "}"]
    block = NEGOTIATE[name]
    if block in ("HTTP_GET", "SSL_GET"):
        request = _setting(service, globals_, "request", "/")
        url = ["    url {", f"        path {request if request.startswith('/') else '/' + request}"]
        receive = _setting(service, globals_, "receive")
        if receive:
            url.append(f'        regex "{receive}"')
        url.append("    }")
        vhost = _setting(service, globals_, "virtualhost")
        return [f"{block} {{", *url, *([f"    virtualhost {vhost}"] if vhost else []), *common, "}"]
    return [f"{block} {{", *common, "}"]
