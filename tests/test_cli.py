"""The CLI: every command documents its options; clips and convert work end to end."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mimic.cli import build_parser, main


def subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_every_option_has_help():
    for name, sub in subcommands().items():
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"mimic {name}: option {action.dest} has no help text"


@pytest.mark.parametrize("command", ["clips", "view", "convert"])
def test_help_runs(command):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0


def test_clips_table(capsys):
    assert main(["clips"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["name", "frames", "fps", "duration_s", "loop"]
    assert len(lines) == 16
    walk = next(line.split() for line in lines if line.startswith("walk"))
    assert walk == ["walk", "39", "30", "1.267", "wrap"]


def test_convert_round_trip(tmp_path, capsys):
    assert main(["convert", "walk", str(tmp_path / "walk.npz")]) == 0
    assert main(["convert", str(tmp_path / "walk.npz"), str(tmp_path / "walk.txt")]) == 0
    assert main(["convert", str(tmp_path / "walk.txt"), str(tmp_path / "again.npz")]) == 0
    with np.load(tmp_path / "walk.npz") as a, np.load(tmp_path / "again.npz") as b:
        np.testing.assert_array_equal(a["joint_pos"], b["joint_pos"])
        np.testing.assert_array_equal(a["body_pos"], b["body_pos"])


def test_console_script_exit_code_on_user_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mimic.cli", "convert", "walk", str(tmp_path / "x.fbx")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("mimic: error:") and "Traceback" not in result.stderr
