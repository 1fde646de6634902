"""Run logs (CSV, TensorBoard) and learning-curve plots."""

from __future__ import annotations

import math

import pytest

from mimic.errors import MimicError
from mimic.render.plots import plot_run
from mimic.training.logger import RunLogger, read_csv


def test_csv_rows_and_late_columns(tmp_path, capsys):
    log = RunLogger(tmp_path, tensorboard=True)
    log.log({"iteration": 1, "samples": 100, "wall_time_min": 0.1, "charts/train_return": 0.2})
    log.log({"iteration": 2, "samples": 200, "wall_time_min": 0.2, "charts/train_return": 0.3,
             "charts/test_return": 0.5})
    log.close()
    columns, rows = read_csv(tmp_path / "log.csv")
    assert columns == ["iteration", "samples", "wall_time_min", "charts/train_return", "charts/test_return"]
    assert rows[1]["charts/test_return"] == 0.5 and math.isnan(rows[0]["charts/test_return"])
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").iterdir())
    out = capsys.readouterr().out
    assert "train_ret" in out and "0.300" in out
    # a logger reopened on the same run (resume) appends to the same columns
    again = RunLogger(tmp_path, tensorboard=False, echo=False)
    again.log({"iteration": 3, "samples": 300, "wall_time_min": 0.3, "charts/test_return": 0.6})
    assert len(read_csv(tmp_path / "log.csv")[1]) == 3


def test_an_amp_run_prints_its_style_reward_and_discriminator_accuracy(tmp_path, capsys):
    """An AMP run's train_ret is its task reward (0 with no task): the table adds what says it learns."""
    log = RunLogger(tmp_path, tensorboard=False)
    log.log({"iteration": 1, "samples": 100, "wall_time_min": 0.1, "charts/train_return": 0.0,
             "amp/style_reward": 0.4321, "amp/acc_expert": 0.83, "amp/acc_agent": 0.71})
    header, line = capsys.readouterr().out.splitlines()
    assert header.split()[-3:] == ["style", "acc_e", "acc_a"]
    assert line.split()[-3:] == ["0.432", "0.83", "0.71"]
    RunLogger(tmp_path / "ppo", tensorboard=False).log({"iteration": 1, "samples": 100, "wall_time_min": 0.1})
    assert "style" not in capsys.readouterr().out


def test_a_teacher_column_appears_with_its_own_header_once_the_clone_term_is_logged(tmp_path, capsys):
    log = RunLogger(tmp_path, tensorboard=False)
    log.log({"iteration": 1, "samples": 100, "wall_time_min": 0.1})  # the actor's warm-up: no clone term yet
    log.log({"iteration": 2, "samples": 200, "wall_time_min": 0.2, "losses/teacher": 0.0123})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and "teach" not in lines[0] and lines[2].split()[-1] == "teach"
    assert lines[3].split()[-1] == "0.012"


def test_plot_writes_png(tmp_path):
    log = RunLogger(tmp_path, tensorboard=False, echo=False)
    for i in range(5):
        log.log({"iteration": i, "samples": 1000 * i, "wall_time_min": i, "charts/train_return": 0.1 * i,
                 "charts/test_return": 0.1 * i, "charts/episode_length_s": i, "charts/body_pos_error_m": 0.1})
    out = plot_run(tmp_path)
    assert out == tmp_path / "curves.png" and out.stat().st_size > 10_000
    with pytest.raises(MimicError, match="no log.csv"):
        plot_run(tmp_path / "nothing")
    # an AMP run's log adds a fourth row of panels (style reward and accuracies): a taller image
    for i in range(5, 8):
        log.log({"iteration": i, "samples": 1000 * i, "wall_time_min": i, "amp/style_reward": 0.5,
                 "amp/acc_expert": 0.9, "amp/acc_agent": 0.8})
    from PIL import Image

    with Image.open(out) as three, Image.open(plot_run(tmp_path, tmp_path / "amp.png")) as four:
        assert four.size[1] > three.size[1] * 1.25
