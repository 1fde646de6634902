"""Generated bad input (hypothesis): every reader answers a malformed file with a MimicError naming the file,
never another exception and never a hang.

Readers fuzzed: DeepMimic ``.txt`` clips, ``.npz`` clips, BVH files (``mimic import``), YAML configs with
dotted overrides, and checkpoints (truncated, bit-flipped, another format tag, another character's, a
policy-only file given to ``--resume``). The default suite runs ``DEFAULT`` cases per reader; ``-m slow``
runs ``SLOW`` per reader (at least 10,000 in all) and prints the count.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mimic.errors import MimicError

DEFAULT, SLOW = 50, 2_100
COUNTS: dict[str, int] = {}
BUDGETS = [pytest.param(DEFAULT, id="default"), pytest.param(SLOW, id="slow", marks=pytest.mark.slow)]
_SETTINGS = dict(deadline=2000, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def expect_clean(call, path: Path, kind: str) -> None:
    """``call()`` either succeeds or raises a MimicError whose message names ``path``."""
    COUNTS[kind] = COUNTS.get(kind, 0) + 1
    try:
        call()
    except MimicError as exc:
        assert path.name in str(exc), f"the error does not name the file: {exc}"


def run_budget(budget: int, test) -> None:
    settings(max_examples=budget, **_SETTINGS)(test)()


# ------------------------------------------------------------------------------------------- values
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                    st.sampled_from([0.0, 1.0, -1.0, 1e308, -1e308, 1e-320]))
json_leaf = st.one_of(numbers, st.text(max_size=5), st.booleans(), st.none())
json_value = st.recursive(json_leaf, lambda c: st.one_of(st.lists(c, max_size=4),
                                                          st.dictionaries(st.text(max_size=6), c, max_size=3)),
                          max_leaves=12)


def walk_frames() -> list[list[float]]:
    from mimic.motion.bundled import resolve_clip_path

    return json.loads(resolve_clip_path("walk").read_text())["Frames"]


@st.composite
def txt_clips(draw) -> str:
    """A DeepMimic clip file: the walk's frames with a few changes, or arbitrary JSON, or arbitrary text."""
    kind = draw(st.sampled_from(["mutated", "json", "text"]))
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "json":
        return json.dumps(draw(json_value))
    frames = [list(f) for f in walk_frames()[: draw(st.integers(0, 6))]]
    for _ in range(draw(st.integers(0, 4))):
        if not frames:
            break
        i = draw(st.integers(0, len(frames) - 1))
        op = draw(st.sampled_from(["set", "drop", "add", "junk", "frame"]))
        if not isinstance(frames[i], list) or not frames[i]:
            frames[i] = draw(json_value)  # a frame replaced earlier: replace it again
        elif op == "set":
            frames[i][draw(st.integers(0, len(frames[i]) - 1))] = draw(numbers)
        elif op == "drop":
            frames[i].pop(draw(st.integers(0, len(frames[i]) - 1)))
        elif op == "add":
            frames[i].append(draw(numbers))
        elif op == "junk":
            frames[i][0] = draw(json_leaf)
        else:
            frames[i] = draw(json_value)
    data = {"Loop": draw(st.sampled_from(["wrap", "none", "WRAP", "forever", 3, None])), "Frames": frames}
    if draw(st.booleans()):
        data[draw(st.text(max_size=5))] = draw(json_value)
    text = json.dumps(data, allow_nan=True)
    return text.replace("Infinity", draw(st.sampled_from(["Infinity", "1e999"])))


@pytest.mark.parametrize("budget", BUDGETS)
def test_deepmimic_txt_clips(tmp_path, budget, humanoid):
    from mimic.motion.formats.deepmimic_txt import read_deepmimic_txt

    path = tmp_path / "fuzz.txt"

    @given(txt_clips())
    def check(text):
        path.write_text(text)
        expect_clean(lambda: read_deepmimic_txt(path, humanoid), path, "txt clips")

    run_budget(budget, check)


arrays = st.one_of(
    st.builds(lambda shape, v: np.full(shape, v), st.lists(st.integers(0, 40), max_size=3), numbers),
    st.builds(np.array, st.text(max_size=4)),
    st.builds(lambda n: np.arange(n, dtype=np.int64), st.integers(0, 5)),
)


@pytest.mark.parametrize("budget", BUDGETS)
def test_npz_clips(tmp_path, budget, humanoid):
    from mimic.motion import load_clip, save_clip
    from mimic.motion.formats.npz import read_npz

    good = tmp_path / "good.npz"
    save_clip(load_clip("walk"), good, humanoid)
    base = dict(np.load(good, allow_pickle=False))
    path = tmp_path / "fuzz.npz"

    @given(st.dictionaries(st.sampled_from([*base, "extra", ""]), arrays, max_size=4), st.booleans(),
           st.integers(0, 2000))
    def check(changes, keep_base, cut):
        data = {**(base if keep_base else {}), **changes}
        buffer = io.BytesIO()
        np.savez(buffer, **{k or "x": v for k, v in data.items()})
        raw = buffer.getvalue()
        path.write_bytes(raw if cut == 0 else raw[: max(0, len(raw) - cut)])
        expect_clean(lambda: read_npz(path, humanoid), path, "npz clips")

    run_budget(budget, check)


BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT LeftUpLeg
  {
    OFFSET 10 -5 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -40 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 90 0 0 0 0 10 0 0
1 90 0 5 0 0 20 0 0
"""


@st.composite
def bvh_texts(draw) -> str:
    """The small BVH above with tokens replaced, dropped or duplicated, lines cut, or arbitrary text."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=300))
    tokens = BVH.split(" ")
    for _ in range(draw(st.integers(1, 5))):
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["replace", "drop", "dup", "number"]))
        if op == "replace":
            tokens[i] = draw(st.sampled_from(["{", "}", "JOINT", "End", "CHANNELS", "-1", "nan", "inf", "Frames:",
                                              "ROOT", "MOTION", "", "\n", "Xrotation", "99999999999"]))
        elif op == "drop":
            tokens.pop(i)
        elif op == "dup":
            tokens.insert(i, tokens[i])
        else:
            tokens[i] = repr(draw(numbers))
    text = " ".join(tokens)
    return text[: draw(st.integers(0, len(text)))] if draw(st.booleans()) else text


@pytest.mark.parametrize("budget", BUDGETS)
def test_bvh_files(tmp_path, budget):
    from mimic.motion.formats.bvh import read_bvh

    path = tmp_path / "fuzz.bvh"

    @given(bvh_texts())
    def check(text):
        path.write_text(text)
        expect_clean(lambda: read_bvh(path), path, "bvh files")

    run_budget(budget, check)


config_keys = st.sampled_from(["run", "env", "agent", "run.num_envs", "env.clips", "agent.actor_lr", "env.engine",
                               "agent.amp", "env.steering", "env.task", "agent.name", "nope", "run.seed",
                               "agent.actor_hidden", "env.reward_weights", "env.clip_weights", "env.clip_rates"])


@st.composite
def configs(draw) -> tuple[str, list[str]]:
    """A YAML config file (a mapping of sections, or anything) and dotted overrides."""
    doc: object = {}
    if draw(st.booleans()):
        for key in draw(st.lists(config_keys, max_size=4)):
            section, _, name = key.partition(".")
            value = draw(json_value)
            if name:
                doc.setdefault(section, {})
                if isinstance(doc[section], dict):
                    doc[section][name] = value
            else:
                doc[section] = value
    else:
        doc = draw(json_value)
    overrides = [f"{draw(config_keys)}={draw(st.text(max_size=8))}" for _ in range(draw(st.integers(0, 3)))]
    overrides += draw(st.lists(st.text(max_size=10), max_size=1))
    return json.dumps(doc, allow_nan=True), overrides


@pytest.mark.parametrize("budget", BUDGETS)
def test_configs_and_overrides(tmp_path, budget):
    from mimic.training.config import load_train_config

    path = tmp_path / "fuzz.yaml"

    @given(configs())
    def check(case):
        text, overrides = case
        path.write_text(text)
        COUNTS["configs"] = COUNTS.get("configs", 0) + 1
        try:
            load_train_config(path, overrides)
        except MimicError as exc:  # a bad override is named by itself, a bad file by its path
            assert path.name in str(exc) or any(o.split("=")[0] in str(exc) for o in overrides) or "=" in str(exc), exc

    run_budget(budget, check)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Bytes of a small PPO checkpoint and its policy-only copy."""
    from mimic.agents import PPOAgent, PPOConfig, save_checkpoint
    from mimic.agents.checkpoint import export_policy

    folder = tmp_path_factory.mktemp("ckpt")
    agent = PPOAgent(3, 2, PPOConfig(actor_hidden=[8], critic_hidden=[8]))
    full = save_checkpoint(folder / "full.pt", agent)
    policy = export_policy(full, folder / "policy.pt")
    return {"full": full.read_bytes(), "policy": policy.read_bytes()}


@st.composite
def damaged(draw, sources: dict[str, bytes]) -> bytes:
    raw = bytearray(sources[draw(st.sampled_from(sorted(sources)))])
    op = draw(st.sampled_from(["truncate", "flip", "flips", "garbage"]))
    if op == "truncate":
        return bytes(raw[: draw(st.integers(0, len(raw) - 1))])
    if op == "garbage":
        return draw(st.binary(max_size=200))
    for _ in range(1 if op == "flip" else draw(st.integers(2, 20))):
        i = draw(st.integers(0, len(raw) - 1))
        raw[i] ^= 1 << draw(st.integers(0, 7))
    return bytes(raw)


@pytest.mark.parametrize("budget", BUDGETS)
def test_checkpoints(tmp_path, budget, checkpoints):
    from mimic.agents.checkpoint import load_checkpoint

    path = tmp_path / "fuzz.pt"

    @given(damaged(checkpoints))
    def check(raw):
        path.write_bytes(raw)
        expect_clean(lambda: load_checkpoint(path), path, "checkpoints")

    run_budget(budget, check)


def test_checkpoint_kinds_that_are_not_damaged_but_wrong(tmp_path, checkpoints):
    """A wrong format tag, another character's checkpoint and a policy-only file given to --resume."""
    from mimic.agents.checkpoint import load_checkpoint
    from mimic.cli import main

    data = torch.load(io.BytesIO(checkpoints["full"]), weights_only=True)
    torch.save({**data, "format": "someone-else/3"}, tmp_path / "tag.pt")
    with pytest.raises(MimicError, match=r"tag.pt: not a Mimic PPO checkpoint"):
        load_checkpoint(tmp_path / "tag.pt")
    run = tmp_path / "run"
    assert main(["train", "walk", "--out", str(run), "--num-envs", "2", "--max-samples", "16", "--no-progress",
                 "agent.steps_per_iter=8", "agent.actor_hidden=[8]", "agent.critic_hidden=[8]",
                 "run.test_every=1000"]) == 0
    dog = tmp_path / "dog"
    assert main(["train", "trot", "--character", "dog3d", "--out", str(dog), "--num-envs", "2", "--max-samples",
                 "16", "--no-progress", "agent.steps_per_iter=8", "agent.actor_hidden=[8]", "agent.critic_hidden=[8]",
                 "run.test_every=1000"]) == 0
    (run / "latest.pt").write_bytes((dog / "latest.pt").read_bytes())  # another character's checkpoint
    assert main(["train", "--out", str(run), "--resume", "--max-samples", "32", "--no-progress"]) == 2
    (run / "latest.pt").write_bytes(checkpoints["policy"])
    assert main(["train", "--out", str(run), "--resume", "--max-samples", "32", "--no-progress"]) == 2


@pytest.mark.slow
def test_the_slow_run_fuzzed_at_least_ten_thousand_inputs(capsys):
    """Runs last (file order): the count of the slow run's generated inputs, printed."""
    total = sum(COUNTS.values())
    with capsys.disabled():
        detail = ", ".join(f"{k} {v}" for k, v in COUNTS.items())
        print(f"\nfuzzed inputs: {total} ({detail}); each a MimicError naming its file, or accepted")
    assert total >= 10_000
