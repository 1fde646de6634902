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
