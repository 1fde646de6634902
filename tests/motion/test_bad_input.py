"""Malformed clips and bad names: one clear MimicError naming file, frame and field; CLI exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mimic.cli import main
from mimic.errors import MimicError
from mimic.motion import load_clip, save_clip
from mimic.motion.bundled import resolve_clip_path


@pytest.fixture(scope="module")
def walk_json() -> dict:
    return json.loads(resolve_clip_path("walk").read_text())


def write(tmp_path, data, name="clip.txt") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def mutate(walk_json, frame, col, value):
    data = json.loads(json.dumps(walk_json))
    data["Frames"][frame][col] = value
    return data


CASES = {
    "bad json": (lambda w: '{"Loop": "wrap", "Frames": [[0.1, 2,]]}', r"invalid JSON at line 1, column \d+"),
    "not an object": (lambda w: "[1, 2]", "expected a JSON object"),
    "no frames": (lambda w: {"Loop": "wrap"}, "Frames: missing key"),
    "wrong count": (lambda w: {"Loop": "wrap", "Frames": w["Frames"][:5] + [w["Frames"][5][:-1]]},
                    "frame 5: expected 44 numbers .* got 43"),
    "not numbers": (lambda w: mutate(w, 2, 3, "x"), "frame 2: expected a list of numbers"),
    "nan": (lambda w: mutate(w, 7, 10, float("nan")), "frame 7: value 10 is not finite"),
    "negative duration": (lambda w: mutate(w, 3, 0, -0.03), "frame 3: duration -0.03 must be positive"),
    "zero quaternion": (lambda w: {"Loop": "wrap", "Frames": [f[:8] + [0, 0, 0, 0] + f[12:] if i == 4 else f
                                                              for i, f in enumerate(w["Frames"])]},
                        "frame 4: joint 'chest' rotation quaternion has norm 0"),
    "non-unit root quaternion": (lambda w: mutate(w, 6, 4, 3.0), "frame 6: joint 'root' rotation quaternion has norm"),
    "unknown loop": (lambda w: {**w, "Loop": "pingpong"}, "Loop: unknown loop mode 'pingpong'"),
    "one frame": (lambda w: {"Loop": "none", "Frames": w["Frames"][:1]}, "at least 2 frames"),
}


@pytest.mark.parametrize("case", CASES)
def test_malformed_txt_clip(case, walk_json, tmp_path, humanoid, capsys):
    make, pattern = CASES[case]
    path = write(tmp_path, make(walk_json))
    with pytest.raises(MimicError, match=pattern) as info:
        load_clip(path, humanoid)
    assert path in str(info.value)
    # the CLI prints one line and exits 2, no traceback
    assert main(["convert", path, str(tmp_path / "out.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mimic: error: ") and path in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_clip_for_another_character(tmp_path, humanoid):
    chain = tmp_path / "chain.xml"
    chain.write_text("<mujoco><worldbody><body name='base'><geom size='.1'/><body name='arm'>"
                     "<joint type='hinge'/><geom size='.1'/></body></body></worldbody></mujoco>")
    from mimic.character.model import load_character

    small = load_character(chain)
    with pytest.raises(MimicError, match=r"frame 0: expected 9 numbers .*character 'chain'.* got 44"):
        load_clip("walk", small)
    # an npz made for the humanoid names joints the chain does not have
    save_clip(load_clip("walk", humanoid), tmp_path / "walk.npz", humanoid)
    with pytest.raises(MimicError, match="body_names: clip joints do not fit character 'chain': unknown joints"):
        load_clip(tmp_path / "walk.npz", small)


def test_npz_missing_and_corrupt_fields(tmp_path, humanoid):
    save_clip(load_clip("walk", humanoid), tmp_path / "walk.npz", humanoid)
    with np.load(tmp_path / "walk.npz") as data:
        arrays = dict(data)
    del arrays["root_rot"]
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(MimicError, match="missing.npz: root_rot: missing array"):
        load_clip(tmp_path / "missing.npz", humanoid)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(MimicError, match="junk.npz: not a Mimic .npz clip"):
        load_clip(tmp_path / "junk.npz", humanoid)


def test_missing_file_unknown_name_and_format(tmp_path, capsys):
    with pytest.raises(MimicError, match="nope.txt: clip file not found; bundled clips are: walk, run"):
        load_clip(tmp_path / "nope.txt")
    with pytest.raises(MimicError,
                       match="wlak: unknown clip name for character 'humanoid3d'; bundled clips are: walk, run, jump"):
        load_clip("wlak")
    (tmp_path / "clip.bvh").write_text("HIERARCHY")
    with pytest.raises(MimicError, match="unknown clip format '.bvh'"):
        load_clip(tmp_path / "clip.bvh")
    assert main(["view", "wlak"]) == 2
    assert "unknown clip name" in capsys.readouterr().err
