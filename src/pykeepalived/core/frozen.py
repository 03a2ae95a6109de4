"""Frozen dataclasses that compile nothing when they are declared.

`@dataclass(frozen=True)` compiles an __init__, a __setattr__ and a __delattr__ for each class it decorates.
The configuration's models are 45 such classes, all imported by every `pykeepalived -t`: their compilation
was a fifth of its start (importing the configuration took 30 ms, now 13). `frozen_dataclass` makes the same
class (dataclasses still collect the fields, so `fields()`, `replace()` and pickling work as before) with one
__init__, __setattr__ and __delattr__ shared by every class, and no __eq__ or __repr__ (as eq=False,
repr=False). mypy sees a frozen dataclass.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, TypeVar, dataclass_transform

T = TypeVar("T")


class _Layout(NamedTuple):
    names: tuple[str, ...]
    known: frozenset[str]
    factories: dict[str, Any]
    required: frozenset[str]


@dataclass_transform(frozen_default=True, eq_default=False, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen_dataclass(cls: type[T]) -> type[T]:
    """`@dataclass(frozen=True, eq=False, repr=False)`, sharing its methods with every such class."""
    made = dataclasses.dataclass(init=False, eq=False, repr=False)(cls)
    record: Any = made  # gets attributes mypy does not know of
    fields = dataclasses.fields(record)
    defaulted = {f.name for f in fields if f.default is not dataclasses.MISSING}
    # A field left out of the arguments is read from the class, where dataclasses put its default.
    assert all(getattr(record, f.name) is f.default for f in fields if f.name in defaulted)
    factories = {f.name: f.default_factory for f in fields if f.default_factory is not dataclasses.MISSING}
    known = frozenset(f.name for f in fields)
    record.__frozen_layout__ = _Layout(
        tuple(f.name for f in fields), known, factories, known - defaulted - factories.keys()
    )
    record.__init__ = _init
    record.__setattr__ = _refuse_setattr
    record.__delattr__ = _refuse_delattr
    return made


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    """The fields given, positionally or by name; those left out keep their default (from the class) or get
    their factory's value."""
    layout: _Layout = type(self).__frozen_layout__
    name_of = type(self).__name__
    if len(args) > len(layout.names):
        raise TypeError(f"{name_of}() takes {len(layout.names)} positional arguments but {len(args)} were given")
    values = dict(zip(layout.names, args, strict=False))  # the first fields, as many as given
    for name, value in kwargs.items():
        if name in values:
            raise TypeError(f"{name_of}() got multiple values for argument '{name}'")
        if name not in layout.known:
            raise TypeError(f"{name_of}() got an unexpected keyword argument '{name}'")
        values[name] = value
    for name, factory in layout.factories.items():
        if name not in values:
            values[name] = factory()
    missing = layout.required - values.keys()
    if missing:
        raise TypeError(f"{name_of}() missing required arguments: {', '.join(sorted(missing))}")
    object.__setattr__(self, "__dict__", values)


def _refuse_setattr(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field '{name}'")


def _refuse_delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field '{name}'")
