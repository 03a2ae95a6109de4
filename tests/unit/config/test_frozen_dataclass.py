"""frozen_dataclass: what `@dataclass(frozen=True, eq=False, repr=False)` does, without compiling per class."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from pykeepalived.core.frozen import frozen_dataclass


@frozen_dataclass
class Server:
    address: str
    port: int = 80
    tags: tuple[str, ...] = ()
    options: dict[str, str] = dataclasses.field(default_factory=dict)


@frozen_dataclass
class TlsServer(Server):
    certificate: str = ""


def test_fields_are_taken_by_position_or_name_and_defaults_come_from_the_class() -> None:
    server = Server("10.99.0.1", options={"a": "b"})
    assert (server.address, server.port, server.tags, server.options) == ("10.99.0.1", 80, (), {"a": "b"})
    assert "port" not in server.__dict__  # read from the class
    assert Server(address="x").options is not Server(address="x").options  # a factory per object
    assert TlsServer("10.99.0.2", 443, certificate="c").port == 443


def test_wrong_arguments_fail_as_a_generated_init_would() -> None:
    with pytest.raises(TypeError, match="missing required arguments: address"):
        Server()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'name'"):
        Server("x", name="y")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'address'"):
        Server("x", address="y")  # type: ignore[misc]
    with pytest.raises(TypeError, match="takes 4 positional arguments but 5"):
        Server("x", 1, (), {}, 5)  # type: ignore[call-arg]


def test_objects_are_frozen() -> None:
    server = Server("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        server.port = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del server.address


def test_replace_fields_and_pickle_work_as_for_any_dataclass() -> None:
    server = TlsServer("x", tags=("a",))
    changed = dataclasses.replace(server, port=8080)
    assert (changed.address, changed.port, changed.tags) == ("x", 8080, ("a",))
    assert [f.name for f in dataclasses.fields(TlsServer)] == ["address", "port", "tags", "options", "certificate"]
    copy = pickle.loads(pickle.dumps(changed))
    assert (type(copy), copy.port, copy.tags, copy.certificate) == (TlsServer, 8080, ("a",), "")
    assert copy != changed  # eq=False: identity, as the models always compared
