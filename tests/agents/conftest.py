"""A tiny test character (a two-link pendulum hanging from a welded free root) and its swing clip.

The env code path is the real one (``ImitationEnv`` with an MJCF and a clip file), only small: 2
hinge DoFs, a 41-dim observation, no ground contact (the root is welded in the air).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mimic.character.model import load_character
from mimic.engine.base import EngineConfig
from mimic.envs.config import EnvConfig
from mimic.motion import Clip, LoopMode, save_clip

# Hinges about -y like the humanoid's knees; stiffness/damping are the PD gains, ctrlrange the torque limit.
PENDULUM_XML = """<mujoco model="pendulum2">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="0.004166667" gravity="0 0 -9.8" integrator="implicitfast"/>
  <default>
    <geom contype="1" conaffinity="0"/>
    <joint type="hinge" axis="0 -1 0" limited="true" range="-1.5 1.5" stiffness="40" damping="4"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="0 0 0.05" contype="0" conaffinity="1"/>
    <body name="root" pos="0 0 1.5">
      <freejoint name="root"/>
      <geom type="sphere" size="0.05" mass="1"/>
      <body name="upper">
        <joint name="upper"/>
        <geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.03" mass="0.5"/>
        <body name="lower" pos="0 0 -0.3">
          <joint name="lower"/>
          <geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.03" mass="0.3"/>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor joint="upper" ctrlrange="-20 20"/>
    <motor joint="lower" ctrlrange="-20 20"/>
  </actuator>
</mujoco>
"""

SWING_SECONDS = 1.0
SWING_FPS = 30


def write_pendulum(folder: Path) -> tuple[Path, Path]:
    """Write the MJCF with its character.yaml and a cyclic 1 s swing clip (sines, the lower link lagging) into
    ``folder`` (the character folder)."""
    mjcf = folder / "pendulum2.xml"
    mjcf.write_text(PENDULUM_XML)
    (folder / "character.yaml").write_text("mjcf: pendulum2.xml\ncontact_bodies: {default: all}\n")
    model = load_character(mjcf)
    n = int(SWING_SECONDS * SWING_FPS) + 1  # last frame = first: a closed loop
    phase = 2 * np.pi * np.arange(n) / (n - 1)
    joint_pos = np.stack([0.8 * np.sin(phase), 0.6 * np.sin(phase + 1.0)], axis=-1)
    clip = Clip(name="swing", loop=LoopMode.WRAP, frame_dt=np.full(n, 1.0 / SWING_FPS),
                root_pos=np.tile([0.0, 0.0, 1.5], (n, 1)), root_rot=np.tile([1.0, 0.0, 0.0, 0.0], (n, 1)),
                joint_pos=joint_pos, body_names=model.body_names)
    npz = folder / "swing.npz"
    save_clip(clip, npz, model)
    return mjcf, npz


@pytest.fixture(scope="session")
def pendulum_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_pendulum(tmp_path_factory.mktemp("pendulum"))


@pytest.fixture()
def pendulum_config(pendulum_files: tuple[Path, Path]) -> EnvConfig:
    """Env config: pose reward only (the other terms are constant or near-constant with a welded
    root and no end effectors), 2 s episodes (time-outs), and a pose termination that fails an env
    whose lower link drifts 0.2 m from the reference (falls)."""
    mjcf, npz = pendulum_files
    return EnvConfig(
        character=str(mjcf.parent), clips=[str(npz)], episode_seconds=2.0,
        reward_weights={"pose": 1.0, "vel": 0.0, "end_eff": 0.0, "root": 0.0, "com": 0.0},
        reward_scales={"pose": 10.0},
        pose_termination=True, pose_termination_dist=0.2,
        engine=EngineConfig(fix_root=True, num_threads=1),
    )
