"""Typed configuration: dataclasses built from plain dicts (YAML), validated with clear messages.

``build(EnvConfig, {"clips": ["walk"]}, source="env.yaml")`` returns an ``EnvConfig``; an unknown key
or a value of the wrong type raises :class:`MimicError` naming the source and the dotted field.
``apply_overrides(data, ["engine.physics_hz=480"])`` applies command-line style overrides to a dict
(values parsed as YAML scalars). Both read numbers as YAML 1.2 does: ``1e-6`` is a float, where
PyYAML's YAML 1.1 reads a string (``load_yaml_text``).
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from mimic.errors import MimicError, input_error

T = TypeVar("T")


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's floats: an exponent needs no dot or sign (``1e-6``, ``3E5``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def load_yaml_text(text: str) -> Any:
    """``text`` parsed as YAML by the safe loader, ``1e-6`` read as a number; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def build(cls: type[T], data: Mapping[str, Any] | None, source: str | Path = "<config>", prefix: str = "") -> T:
    """An instance of dataclass ``cls`` from ``data``; missing keys keep their defaults."""
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise input_error(source, f"expected a mapping of keys, got {type(data).__name__}", prefix.rstrip(".") or None)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise input_error(source, f"unknown key; known keys are: {', '.join(fields)}", f"{prefix}{key}")
        kwargs[key] = _convert(hints[key], value, source, f"{prefix}{key}")
    try:
        return cls(**kwargs)
    except MimicError as exc:
        raise MimicError(f"{source}: {exc}") from None


def _convert(hint: Any, value: Any, source: str | Path, name: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, source, prefix=f"{name}.")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(arg, value, source, name)
            except MimicError as exc:
                errors.append(str(exc))
        raise input_error(source, f"expected {_type_name(hint)}, got {value!r}", name)
    if origin is Literal:
        if value not in args:
            raise input_error(source, f"expected one of {', '.join(map(repr, args))}, got {value!r}", name)
        return value
    if origin in (list, tuple, Sequence):
        if not isinstance(value, list | tuple):
            raise input_error(source, f"expected a list, got {value!r}", name)
        item = args[0] if args else Any
        return [_convert(item, v, source, f"{name}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise input_error(source, f"expected a mapping, got {value!r}", name)
        vt = args[1] if len(args) == 2 else Any
        return {str(k): _convert(vt, v, source, f"{name}.{k}") for k, v in value.items()}
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise input_error(source, f"expected true or false, got {value!r}", name)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise input_error(source, f"expected an integer, got {value!r}", name)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise input_error(source, f"expected a number, got {value!r}", name)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            hint_empty = " (an empty string is written '', as KEY='')" if value is None else ""
            raise input_error(source, f"expected a string, got {value!r}{hint_empty}", name)
        return value
    raise input_error(source, f"unsupported config type {hint!r}", name)


def _type_name(hint: Any) -> str:
    return " or ".join(getattr(a, "__name__", str(a)) for a in typing.get_args(hint))


def to_dict(obj: Any) -> dict[str, Any]:
    """Plain-dict form of a config dataclass (for YAML)."""
    return dataclasses.asdict(obj)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; clear errors for a missing file or bad YAML."""
    path = Path(path)
    if not path.is_file():
        raise MimicError(f"{path}: config file not found")
    try:
        data = load_yaml_text(path.read_text())
    except yaml.YAMLError as exc:
        raise input_error(path, f"invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise input_error(path, "expected a mapping of keys at the top level")
    return data


def _parse_scalar(text: str) -> Any:
    """A YAML value (``5e-5`` a number, ``[1e-6, 1e-5]`` a list of them); unparsable YAML stays text."""
    try:
        return load_yaml_text(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict[str, Any], overrides: Sequence[str], source: str = "command line") -> dict[str, Any]:
    """Apply ``a.b=value`` overrides to a nested dict (a copy); values are parsed as YAML."""
    import copy

    out = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise MimicError(f"{source}: override {item!r} must look like key.sub=value")
        key, text = item.split("=", 1)
        value = _parse_scalar(text)
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise MimicError(f"{source}: override {item!r}: {part} is not a section")
        node[parts[-1]] = value
    return out
