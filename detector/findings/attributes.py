"""Finding attributes, declared once per kind of finding.

Each detector declares its findings' attributes as a dataclass derived from
``Attributes`` (in ``detector/detectors/*_attributes.py``, next to the
detector). That one declaration is read by everything else: rule validation
(an unknown field is an error), the JSON contract in the README (generated),
CSV columns (flattened) and the report's labels. A detector builds a finding
from a plain mapping; ``Attributes.build`` refuses a key the declaration does
not have, so a detector and its consumers cannot drift apart silently.

Read access keeps the mapping protocol (``attrs["service"]``, ``attrs.get``)
for rule paths and templates, but only for declared names: asking for an
undeclared key raises ``UndeclaredAttribute`` instead of quietly returning None.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Union, get_args, get_origin, get_type_hints

MAX_CSV_CELL = 2000


class UndeclaredAttribute(KeyError):
    """A consumer or detector used an attribute name its declaration does not have."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else "undeclared attribute"


class AttributeTypeError(TypeError):
    """A detector put a value of the wrong type into a declared attribute."""


def attribute(doc: str, *, label: str = "", default: Any = None, factory: Any = None,
              structured: bool = False, when: str = "") -> Any:
    """Declare one attribute: its one-line documentation and its report/CSV label.

    ``structured`` marks lists of records (per-host tables, heat maps) that the
    report draws as tables rather than as a line of text. ``when`` documents when
    the value is null ("only for tenant services").
    """
    metadata = {"doc": doc, "label": label, "structured": structured, "when": when}
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


@dataclass
class Attributes(Mapping):
    """Base of every declared attribute set; subclasses are dataclasses."""

    detector: ClassVar[str] = ""
    category: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    declared_anywhere: ClassVar[set[str]] = set()  # every name any declaration has

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.declared_anywhere.update(getattr(cls, "__annotations__", {}))

    # ---------------------------------------------------------- construction

    @classmethod
    def build(cls, values: Mapping[str, Any]) -> Attributes:
        """Strict: every key must be declared and every value of the declared type."""
        names = cls.names()
        unknown = [key for key in values if key not in names]
        if unknown:
            raise UndeclaredAttribute(
                f"{cls.detector or cls.__name__}: attribute(s) {', '.join(sorted(map(str, unknown)))} "
                f"not declared in {cls.__module__}.{cls.__name__}")
        hints = _hints(cls)
        for key, value in values.items():
            if not _fits(value, hints[key]):
                raise AttributeTypeError(
                    f"{cls.detector}: attribute {key}={value!r:.80} is not {_type_text(hints[key])}")
        return cls(**dict(values))

    @classmethod
    def load(cls, values: Mapping[str, Any]) -> Attributes:
        """Lenient: stored or older documents may carry keys this version dropped; those are ignored."""
        names = cls.names()
        return cls(**{k: v for k, v in values.items() if k in names})

    # ---------------------------------------------------------- declaration

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return _names(cls)

    @classmethod
    def specs(cls) -> list[AttributeSpec]:
        hints = _hints(cls)
        return [AttributeSpec(f.name, _type_text(hints[f.name]), f.metadata.get("doc", ""),
                              f.metadata.get("label") or f.name.replace("_", " ").capitalize(),
                              bool(f.metadata.get("structured")), f.metadata.get("when", ""), cls.detector)
                for f in dataclasses.fields(cls)]

    # ---------------------------------------------------------- mapping protocol (declared names only)

    def __getitem__(self, key: str) -> Any:
        if key not in self.names():
            raise UndeclaredAttribute(f"{self.detector}: no attribute {key!r}")
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self.names():
            raise UndeclaredAttribute(f"{self.detector}: no attribute {key!r}")
        setattr(self, key, value)

    def get(self, key: str, default: Any = None) -> Any:
        """Like dict.get across finding kinds, but a name no declaration has is an error, not None."""
        if key not in self.names():
            if key not in self.declared_anywhere:
                raise UndeclaredAttribute(f"no finding declares an attribute {key!r}")
            return default
        value = getattr(self, key)
        return default if value is None else value

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.names() and getattr(self, key) is not None

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it is

    # ---------------------------------------------------------- outputs

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: every declared attribute, in declaration order (null when unknown)."""
        return {name: _jsonable(getattr(self, name)) for name in self.names()}

    def flatten(self) -> dict[str, str]:
        """One CSV cell per attribute, columns named ``attr_<name>``."""
        return {f"attr_{name}": _cell(getattr(self, name)) for name in self.names()}


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


__all__ = ["AttributeSpec", "AttributeTypeError", "Attributes", "UndeclaredAttribute", "attribute"]
