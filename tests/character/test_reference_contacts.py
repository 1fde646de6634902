"""Every bundled clip's reference, stood on the ground, touches it only with the bodies its character
spec allows for that clip: otherwise a controller that tracks the clip exactly would end its episodes
as falls.

DeepMimic's clips sink into the ground by up to several centimetres (the humanoid's run by 68 mm), so
each frame is first lifted until its allowed bodies no longer penetrate; a forbidden body must then
clear the ground.
"""

from __future__ import annotations

import mujoco
import pytest
import torch

from mimic.character.spec import bundled_characters, load_spec
from mimic.engine.registry import build_engine
from mimic.motion import load_clip
from mimic.motion.library import MotionLibrary

FRAMES = 60


def _cases() -> list[tuple[str, str]]:
    return [(name, clip) for name in bundled_characters() for clip in load_spec(name).clip_names]


@pytest.mark.parametrize(("character", "clip"), _cases())
def test_reference_touches_ground_only_with_allowed_bodies(character: str, clip: str) -> None:
    spec = load_spec(character)
    try:
        motion = load_clip(clip, character=spec)
    except Exception as exc:  # a clip that comes with the pybullet wheel, absent here
        pytest.skip(f"{character}/{clip} unavailable: {exc}")
    allowed = spec.contact_bodies_for(clip)
    if set(allowed) >= set(spec.model.body_names):
        pytest.skip(f"{character}/{clip}: every body may touch the ground")
    engine = build_engine(spec.mjcf_path, FRAMES)
    library = MotionLibrary([motion], spec.model)
    times = torch.linspace(0.0, float(motion.duration), FRAMES)
    s = library.state(torch.zeros(FRAMES, dtype=torch.long), times)
    engine.set_state(None, s.root_pos, s.root_rot, s.root_vel, s.root_ang_vel, s.joint_pos, s.dof_vel)
    model, data = engine.mj_model, mujoco.MjData(engine.mj_model)
    qpos = engine._qpos.copy()  # the engine's MuJoCo coordinates of each reference frame
    names = [model.body(i).name for i in range(model.nbody)]
    offenders: list[str] = []
    for i in range(FRAMES):
        data.qpos[:] = qpos[i]
        mujoco.mj_forward(model, data)
        deepest_allowed, forbidden = 0.0, {}
        for k in range(data.ncon):
            con = data.contact[k]
            body = int(model.geom_bodyid[con.geom2 if model.geom_bodyid[con.geom1] == 0 else con.geom1])
            if body == 0:
                continue
            if names[body] in allowed:
                deepest_allowed = min(deepest_allowed, float(con.dist))
            else:
                forbidden[names[body]] = min(forbidden.get(names[body], 0.0), float(con.dist))
        for body_name, dist in forbidden.items():
            if dist < deepest_allowed - 1e-3:  # still 1 mm into the ground once lifted
                offenders.append(f"t={float(times[i]):.2f}s {body_name} {1000 * (dist - deepest_allowed):.0f} mm")
    assert not offenders, f"{character}/{clip}: forbidden ground contact in the reference: {offenders[:5]}"
