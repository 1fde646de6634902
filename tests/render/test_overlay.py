"""Video captions: text box and event border on frames, and what `mimic play`'s caption says."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from mimic.envs.terminations import DoneReason
from mimic.render.overlay import FALL_COLOUR, RESET_COLOUR, PlayCaption, annotate


def test_annotate_draws_text_and_border_on_a_copy():
    frame = np.full((240, 320, 3), 200, dtype=np.uint8)
    out = annotate(frame, ["walk   t = 1.00 s"], border=FALL_COLOUR)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.all(frame == 200)  # the input is untouched
    assert tuple(out[0, 0]) == FALL_COLOUR and tuple(out[-1, 160]) == FALL_COLOUR
    box = out[16:40, 16:120]
    assert box.min() < 120 and box.max() > 240  # dark box, white text
    assert np.all(out[200:230, 200:300] == 200)  # the rest is left as it was
    plain = annotate(frame, [])
    assert np.array_equal(plain, frame)


def test_play_caption_marks_falls_and_resets():
    env = SimpleNamespace(dt=0.1, clips=[SimpleNamespace(name="humanoid3d_walk")], clip_ids=torch.zeros(1),
                          config=SimpleNamespace(task="track"))
    cap = PlayCaption(env, mark_seconds=0.2)  # 2 frames
    frame = np.zeros((120, 160, 3), dtype=np.uint8)
    cap.step(0.5, DoneReason.NONE)
    assert cap.draw(frame)[0, 0].tolist() == [0, 0, 0]  # no mark yet
    cap.step(0.5, DoneReason.FAIL)
    assert cap.falls == 1 and cap.mark[0] == "fell at 0.20 s (return 1.00): reset"
    marked = [tuple(cap.draw(frame)[0, 0]) for _ in range(3)]
    assert marked == [FALL_COLOUR, FALL_COLOUR, (0, 0, 0)]  # for mark_seconds, then gone
    assert (cap.ret, cap.steps) == (0.0, 0)  # the new episode's return starts at 0
    cap.step(0.9, DoneReason.TIMEOUT)
    assert cap.falls == 1 and cap.mark == ("time limit at 0.10 s (return 0.90): reset", RESET_COLOUR)


def test_a_task_policy_caption_shows_speed_and_target_not_a_return():
    env = SimpleNamespace(dt=0.1, clips=[SimpleNamespace(name="humanoid3d_walk")], clip_ids=torch.zeros(1),
                          config=SimpleNamespace(task="steering"),
                          engine=SimpleNamespace(root_vel=torch.tensor([[0.6, 0.8, 0.3]])),
                          task=SimpleNamespace(angle=torch.tensor([-torch.pi / 2]), speed=torch.tensor([1.5])))
    cap = PlayCaption(env, mark_seconds=0.2)
    cap.step(0.0, DoneReason.NONE)
    assert cap.lines() == ["walk   t =  0.10 s", "speed 1.00 m/s", "target 270 deg at 1.5 m/s"]
    env.task = None  # style alone
    assert cap.lines()[1:] == ["speed 1.00 m/s"]
