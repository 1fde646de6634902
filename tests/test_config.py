"""Typed configs: defaults, nesting, overrides, and clear errors for bad keys and types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest
import yaml

from mimic import config as C
from mimic.errors import MimicError


@dataclass
class Inner:
    rate: int = 30
    gain: float = 1.0


@dataclass
class Outer:
    name: str = "walk"
    mode: Literal["a", "b"] = "a"
    flags: list[int] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    maybe: float | None = None
    inner: Inner = field(default_factory=Inner)


def test_build_with_defaults_nesting_and_int_to_float():
    cfg = C.build(Outer, {"inner": {"gain": 2}, "flags": [1, 2], "weights": {"pose": 1}})
    assert cfg.inner.gain == 2.0 and isinstance(cfg.inner.gain, float) and cfg.inner.rate == 30
    assert cfg.flags == [1, 2] and cfg.weights == {"pose": 1.0} and cfg.maybe is None
    assert C.to_dict(cfg)["inner"] == {"rate": 30, "gain": 2.0}


@pytest.mark.parametrize("data, message", [
    ({"nmae": "x"}, r"run.yaml: nmae: unknown key; known keys are: name, mode"),
    ({"inner": {"rat": 1}}, r"inner.rat: unknown key"),
    ({"inner": {"rate": "fast"}}, r"inner.rate: expected an integer, got 'fast'"),
    ({"inner": {"rate": True}}, r"inner.rate: expected an integer"),
    ({"mode": "c"}, r"mode: expected one of 'a', 'b', got 'c'"),
    ({"flags": [1, "x"]}, r"flags\[1\]: expected an integer"),
    ({"maybe": "x"}, r"maybe: expected float or None"),
    ({"inner": 3}, r"inner: expected a mapping"),
])
def test_bad_keys_and_types(data, message):
    with pytest.raises(MimicError, match=message):
        C.build(Outer, data, source="run.yaml")


def test_overrides_parse_yaml_values():
    data = C.apply_overrides({"inner": {"rate": 30}}, ["inner.gain=5e-5", "name=run", "flags=[1, 2]"])
    cfg = C.build(Outer, data)
    assert cfg.inner.gain == 5e-5 and cfg.name == "run" and cfg.flags == [1, 2] and cfg.inner.rate == 30
    with pytest.raises(MimicError, match="must look like key.sub=value"):
        C.apply_overrides({}, ["inner.gain"])
    assert C.build(Outer, C.apply_overrides({}, ["name=''"])).name == ""
    with pytest.raises(MimicError, match="expected a string, got None .an empty string is written '', as KEY=''"):
        C.build(Outer, C.apply_overrides({}, ["name="]))  # YAML reads an empty value as null


def test_exponents_without_a_dot_are_numbers_in_files_and_overrides(tmp_path):
    """YAML 1.1 (PyYAML) reads ``1e-6`` as a string; configs read it as YAML 1.2 does, nested ones too."""
    path = tmp_path / "run.yaml"
    path.write_text("weights: {a: 1e-6, b: -2E3, c: 1.5e+2}\ninner: {gain: .5e-1, rate: 10}\nname: 1.2.3\n")
    cfg = C.build(Outer, C.load_yaml(path), source=path)
    assert cfg.weights == {"a": 1e-6, "b": -2000.0, "c": 150.0} and cfg.inner.gain == 0.05
    assert cfg.inner.rate == 10 and isinstance(cfg.inner.rate, int) and cfg.name == "1.2.3"
    data = C.apply_overrides({}, ["weights={a: 1e-6}", "inner.gain=3e5", "name=walk"])
    assert C.build(Outer, data).weights == {"a": 1e-6} and data["inner"]["gain"] == 3e5 and data["name"] == "walk"
    assert yaml.safe_load("1e-6") == "1e-6"  # PyYAML's own loader is left as it is


def test_yaml_errors(tmp_path):
    with pytest.raises(MimicError, match="config file not found"):
        C.load_yaml(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(MimicError, match="bad.yaml: invalid YAML"):
        C.load_yaml(tmp_path / "bad.yaml")
