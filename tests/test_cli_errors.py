"""User errors say whose fault, on one line with exit status 2 (README, "Command line")."""

from __future__ import annotations

import pytest

from mimic.cli import main


def error_lines(capsys) -> list[str]:
    return [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]


def test_a_bad_override_names_the_argument_not_the_preset(tmp_path, capsys):
    assert main(["train", "walk", "--config", "fast", "agent.actor_lr=abc", "--out", str(tmp_path / "r")]) == 2
    assert error_lines(capsys) == ["mimic: error: agent.actor_lr=abc: expected a number, got 'abc'"]
    assert main(["train", "walk", "agent.actor_hidden=[1, x]", "--out", str(tmp_path / "r")]) == 2
    assert error_lines(capsys) == ["mimic: error: agent.actor_hidden=[1, x]: agent.actor_hidden[1]: expected an "
                                   "integer, got 'x'"]


def test_an_argument_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "walk", "--num-envs", "0"])
    assert exc.value.code == 2
    assert error_lines(capsys) == ["mimic: error: argument --num-envs: must be positive, got 0 "
                                   "(see `mimic train --help`)"]
    with pytest.raises(SystemExit):
        main(["clips", "--bogus"])
    lines = error_lines(capsys)
    assert len(lines) == 1 and "unrecognized arguments: --bogus" in lines[0] and "usage" not in lines[0]


def test_a_file_named_npz_that_is_not_one_gets_our_message(tmp_path, capsys):
    bad = tmp_path / "clip.npz"
    bad.write_text("hello")
    assert main(["convert", str(bad), str(tmp_path / "out.txt")]) == 2
    lines = error_lines(capsys)
    assert lines == [f"mimic: error: {bad}: not a Mimic .npz clip (the file is not a NumPy .npz archive)"]


def test_a_failed_start_leaves_no_run_directory(tmp_path, capsys):
    out = tmp_path / "runs" / "x"
    assert main(["train", "nosuchclip", "--out", str(out), "--max-samples", "8"]) == 2
    assert "unknown clip name" in capsys.readouterr().err
    assert not out.exists()


def test_a_clip_and_env_clips_together_are_an_error(tmp_path, capsys):
    assert main(["train", "walk", "env.clips=[run]", "--out", str(tmp_path / "r")]) == 2
    assert error_lines(capsys) == ["mimic: error: the clip 'walk' and env.clips=[run] both choose the clips to train "
                                   "on; give one"]


def test_a_second_run_into_the_same_out_explains_the_choice(tmp_path, capsys):
    out = tmp_path / "walk"
    small = ["--num-envs", "2", "--no-progress", "agent.steps_per_iter=4", "agent.actor_hidden=[8]",
             "agent.critic_hidden=[8]"]
    assert main(["train", "walk", "--out", str(out), "--max-samples", "8", *small]) == 0
    capsys.readouterr()
    assert main(["train", "walk", "--out", str(out), "--max-samples", "8", *small]) == 2
    (line,) = error_lines(capsys)
    assert f"{out}: holds a run already" in line
    assert f"`mimic train --out {out} --resume`" in line and "choose another --out" in line


def test_motion_outputs_with_unknown_extensions_are_refused_before_any_work(tmp_path, capsys):
    bvh = tmp_path / "in.bvh"
    bvh.write_text("not read: the output is checked first")
    assert main(["import", str(bvh), str(tmp_path / "out.fbx")]) == 2
    assert error_lines(capsys) == [f"mimic: error: {tmp_path / 'out.fbx'}: unknown clip format '.fbx'; use one of "
                                   ".txt, .json, .npz, .bvh"]
    assert main(["play", "walk", "--export", str(tmp_path / "walk.mp4")]) == 2
    assert error_lines(capsys) == [f"mimic: error: {tmp_path / 'walk.mp4'}: unknown clip format '.mp4'; use one of "
                                   ".txt, .json, .npz, .bvh"]
    assert main(["import", str(bvh), str(tmp_path / "no" / "out.npz")]) == 2
    assert error_lines(capsys) == [f"mimic: error: {tmp_path / 'no' / 'out.npz'}: folder {tmp_path / 'no'} does not "
                                   "exist"]


def test_a_bvh_is_imported_not_loaded(tmp_path, capsys):
    (tmp_path / "walk.bvh").write_text("HIERARCHY")
    assert main(["view", str(tmp_path / "walk.bvh")]) == 2
    assert error_lines(capsys) == [f"mimic: error: {tmp_path / 'walk.bvh'}: unknown clip format '.bvh'; use one of "
                                   ".txt, .json, .npz; turn a BVH into a clip with `mimic import FILE.bvh OUT.npz`"]
