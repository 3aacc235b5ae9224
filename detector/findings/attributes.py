"""The kind of a finding: its attributes, declared once as a frozen dataclass.

Each kind (``detector/findings/<family>.py``) derives from ``Attributes`` and
names its detector, category and summary as class variables. That one
declaration is read by everything else: the detector constructs it, rule
validation (an unknown field is an error), the JSON contract in the README
(generated), CSV columns (flattened) and the report, which registers one
presentation per kind (``reports/kinds/<family>.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin, get_type_hints

MAX_CSV_CELL = 2000


class UndeclaredAttribute(KeyError):
    """A consumer or detector used an attribute name its declaration does not have."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else "undeclared attribute"


class AttributeTypeError(TypeError):
    """A detector put a value of the wrong type into a declared attribute."""


def attribute(doc: str, *, label: str = "", default: Any = None, factory: Any = None,
              structured: bool = False, when: str = "", choices: tuple[str, ...] = ()) -> Any:
    """Declare one attribute: its one-line documentation and its report/CSV label.

    ``structured`` marks lists of records (per-host tables, heat maps) that the
    report draws as tables rather than as a line of text. ``when`` documents when
    the value is null ("only for tenant services"). ``choices`` closes the set of
    values the doc lists, so a rule naming any other value fails validation.
    """
    metadata = {"doc": doc, "label": label, "structured": structured, "when": when, "choices": choices}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class AttributeSpec:
    """What the declaration says about one attribute, for documentation and validation."""

    name: str
    type_text: str
    doc: str
    label: str
    structured: bool
    when: str
    owner: str  # the detector whose findings carry it
    choices: tuple[str, ...] = ()  # the closed set of values, when the declaration gives one


A = TypeVar("A", bound="Attributes")


@dataclass(frozen=True, kw_only=True)
class Attributes:
    """Base of every finding kind: a frozen dataclass whose class says which detector, category and summary.

    A kind's class is constructed directly by its detector and checked on construction (declared types);
    a finding read back from text (store, rule examples) goes through ``load``. Consumers read attributes
    by name (``attrs.service``) on the kind they know; only rule matching and CSV read by a name given as
    text, through ``value``.
    """

    detector: ClassVar[str] = ""
    category: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    carries_users: ClassVar[bool] = False  # has a ``users`` attribute the device directory fills in

    checked: InitVar[bool] = True  # types checked on construction; ``load`` reads stored text without

    def __post_init__(self, checked: bool) -> None:
        if not checked:
            return
        hints = _hints(type(self))
        for name in self.names():
            value = getattr(self, name)
            if not _fits(value, hints[name]):
                raise AttributeTypeError(
                    f"{self.detector}: attribute {name}={value!r:.80} is not {_type_text(hints[name])}")
        for name, choices in _choices(type(self)).items():
            value = getattr(self, name)
            outside = [v for v in (value if isinstance(value, list) else [value]) if v and v not in choices]
            if outside:  # a detector emits a value rules cannot name: the declaration must list it first
                raise AttributeTypeError(f"{self.detector}: attribute {name}={outside[0]!r:.80} is not one of the "
                                         f"declared choices ({', '.join(choices)})")

    # ---------------------------------------------------------- construction from text

    @classmethod
    def load(cls: type[A], values: Mapping[str, Any], *, strict: bool = False) -> A:
        """The kind from a JSON mapping. Stored or older documents may carry keys this version dropped:
        those are ignored and nothing is type-checked (a damaged database still renders), unless ``strict``
        (rule examples, where a misspelled name or a wrong type must not pass)."""
        names = cls.names()
        unknown = [key for key in values if key not in names]
        if unknown and strict:
            raise UndeclaredAttribute(
                f"{cls.detector}: attribute(s) {', '.join(sorted(map(str, unknown)))} "
                f"not declared in {cls.__module__}.{cls.__name__}")
        return cls(**{k: v for k, v in values.items() if k in names}, checked=strict)

    # ---------------------------------------------------------- declaration

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return _names(cls)

    @classmethod
    def specs(cls) -> list[AttributeSpec]:
        hints = _hints(cls)
        return [AttributeSpec(f.name, _type_text(hints[f.name]), f.metadata.get("doc", ""),
                              f.metadata.get("label") or f.name.replace("_", " ").capitalize(),
                              bool(f.metadata.get("structured")), f.metadata.get("when", ""), cls.detector,
                              tuple(f.metadata.get("choices", ())))
                for f in dataclasses.fields(cls)]

    def value(self, name: str) -> Any:
        """An attribute named by text (rule paths, CSV columns); an undeclared name is an error."""
        if name not in self.names():
            raise UndeclaredAttribute(f"{self.detector}: no attribute {name!r}")
        return getattr(self, name)

    # ---------------------------------------------------------- outputs

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: every declared attribute, in declaration order (null when unknown)."""
        return {name: _jsonable(getattr(self, name)) for name in self.names()}

    def flatten(self) -> dict[str, str]:
        """One CSV cell per attribute, columns named ``attr_<name>``."""
        return {f"attr_{name}": _cell(getattr(self, name)) for name in self.names()}


@functools.cache
def _choices(cls: type) -> dict[str, tuple[str, ...]]:
    """The closed attributes of a kind and their declared values (checked on construction)."""
    return {f.name: tuple(f.metadata["choices"]) for f in dataclasses.fields(cls) if f.metadata.get("choices")}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Resolved annotations, once per class: get_type_hints evaluates strings and is slow."""
    return get_type_hints(cls)


@functools.cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _type_text(hint: Any) -> str:
    origin = get_origin(hint)
    if origin is Union:
        args = [a for a in get_args(hint) if a is not type(None)]
        inner = " | ".join(_type_text(a) for a in args)
        return f"{inner} | null"
    if origin in (list, tuple):
        args = get_args(hint)
        return f"[{_type_text(args[0])}]" if args else "[...]"
    if origin is dict:
        args = get_args(hint)
        return f"{{{_type_text(args[0])}: {_type_text(args[1])}}}" if args else "{...}"
    names = {str: "str", int: "int", float: "float", bool: "bool", Any: "any"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _fits(value: Any, hint: Any) -> bool:
    """A light runtime check of the declared type (enough to catch drift in tests)."""
    if hint is Any:
        return True
    origin = get_origin(hint)
    if origin is Union:
        return any(_fits(value, arg) for arg in get_args(hint))
    if hint is type(None):
        return value is None
    if origin in (list, tuple):
        return isinstance(value, (list, tuple))
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _cell(value: Any) -> str:
    """Lists joined with '; ', mappings as key=value, records as compact JSON; bounded."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
        if all(isinstance(v, (str, int, float)) for v in value):
            text = "; ".join(str(v) for v in value)
        else:
            text = json.dumps(_jsonable(value), separators=(",", ":"), sort_keys=True)
    elif isinstance(value, dict):
        text = "; ".join(f"{k}={v}" for k, v in value.items()) if all(
            isinstance(v, (str, int, float, bool)) for v in value.values()) else json.dumps(
            _jsonable(value), separators=(",", ":"), sort_keys=True)
    else:
        text = str(value)
    return text[:MAX_CSV_CELL]
