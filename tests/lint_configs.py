"""Small node configurations for the lint's tests: one vrrp_instance per call, written to files."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.lint.cluster import Cluster, read_cluster


def instance(
    priority: int,
    *,
    name: str = "VI_1",
    vrid: int = 51,
    vips: tuple[str, ...] = ("192.0.2.10/24",),
    track: str = "",
    extra: str = "",
    state: str = "BACKUP",
) -> str:
    addresses = "\n".join(f"        {v}" for v in vips)
    tracking = f"    track_script {{\n        {track}\n    }}\n" if track else ""
    return (
        f"vrrp_instance {name} {{\n    state {state}\n    interface eth0\n    virtual_router_id {vrid}\n"
        f"    priority {priority}\n    advert_int 1\n{extra}    virtual_ipaddress {{\n{addresses}\n    }}\n"
        f"{tracking}}}\n"
    )


def script(name: str = "chk", weight: int | None = -20, fall: int = 1, rise: int = 1) -> str:
    weight_line = f"    weight {weight}\n" if weight is not None else ""
    return (
        f'vrrp_script {name} {{\n    script "/bin/true"\n    interval 1\n    fall {fall}\n    rise {rise}\n'
        f"{weight_line}}}\n"
    )


def cluster(tmp_path: Path, *texts: str) -> Cluster:
    """One node per text, named lb1, lb2, ..."""
    paths = []
    for number, text in enumerate(texts, start=1):
        path = tmp_path / f"lb{number}.conf"
        path.write_text(text)
        paths.append(str(path))
    return read_cluster(paths, [f"lb{n}" for n in range(1, len(texts) + 1)])
