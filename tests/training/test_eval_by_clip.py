"""`mimic eval --by-clip`: a policy trained on several clips is measured once per start clip."""

from __future__ import annotations

import json

from mimic.cli import main

SMALL = ["--num-envs", "4", "--no-progress", "run.test_every=1000", "agent.steps_per_iter=8",
         "agent.actor_hidden=[32]", "agent.critic_hidden=[32]", "env.episode_seconds=0.5"]


def test_by_clip_gives_one_row_per_start_clip(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--max-samples", "32", "env.clips=[walk, run]", *SMALL]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--by-clip", "--episodes", "2", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    got = [(r["policy"], r["start_clip"], r["episodes"]) for r in rows]
    assert got == [(str(out), "walk", 2), (str(out), "run", 2)]
    assert main(["eval", str(out), "--by-clip", "--episodes", "2"]) == 0
    table = capsys.readouterr().out
    assert f"{out} [walk]" in table and f"{out} [run]" in table


def test_eval_set_changes_the_stored_env(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--max-samples", "32", "env.clips=[walk, run]", *SMALL]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--episodes", "2", "--json", "--set", "env.episode_seconds=0.2",
                 "--set", "env.clip_weights=[0, 1]", "--by-clip"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    # --by-clip's weights win per row; the episode limit applies to every row
    assert [r["start_clip"] for r in rows] == ["walk", "run"]
    assert rows[0]["clip_speed_mps"] < 2.0 < rows[1]["clip_speed_mps"]  # the walk row did start on the walk
    assert all(r["mean_episode_seconds"] <= 0.2 + 1e-9 for r in rows)
    assert all(len(r["fall_seconds"]) == round(r["fall_rate"] * r["episodes"]) for r in rows)


def test_eval_set_refuses_other_sections_and_unknown_fields(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--max-samples", "32", *SMALL]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--set", "agent.actor_lr=1"]) == 2
    assert "only the env config can change" in capsys.readouterr().err
    assert main(["eval", str(out), "--set", "env.no_such_field=1"]) == 2
    assert "env.no_such_field" in capsys.readouterr().err


def test_eval_seed_draws_other_episodes_and_defaults_to_the_runs(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--max-samples", "32", "env.clips=[walk, run]", *SMALL]) == 0
    capsys.readouterr()

    def measured(*extra: str) -> tuple[float, float]:
        assert main(["eval", str(out), "--episodes", "4", "--json", *extra]) == 0
        row = json.loads(capsys.readouterr().out.splitlines()[-1])
        return row["normalized_return"], row["clip_speed_mps"]

    default = measured()
    assert measured("--seed", "20000") == default  # run.seed 0 + 20,000: the episodes every checkpoint meets
    assert measured("--seed", "7") != default  # other starts: other clips, times and returns


def test_eval_several_seeds_gives_a_row_each_and_one_pooling_them(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--max-samples", "32", "env.clips=[walk, run]", *SMALL]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--episodes", "4", "--json", "--seed", "20000"]) == 0
    alone = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert main(["eval", str(out), "--episodes", "4", "--json", "--seed", "20000", "7", "--seed", "7"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [r.get("seed") for r in rows] == [20000, 7, None]  # a repeated seed runs once
    assert rows[0] == alone  # each seed's row is that seed's own evaluation
    pooled = rows[2]
    assert pooled["seeds"] == [20000, 7] and pooled["episodes"] == 8
    for key in ("normalized_return", "mpjpe_m", "fall_rate"):
        assert abs(pooled[key] - (rows[0][key] + rows[1][key]) / 2) < 1e-4
    assert pooled["fall_seconds"] == sorted(rows[0]["fall_seconds"] + rows[1]["fall_seconds"])
    assert main(["eval", str(out), "--episodes", "4", "--seed", "20000", "7"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split()[1:3] for line in table[1:]] == [["seed", "20000"], ["seed", "7"], ["all", "2"]]
