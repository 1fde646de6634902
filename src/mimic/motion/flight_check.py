"""Is a clip's flight ballistic? The check behind start windows no controller gets through.

In the air only gravity acts on the centre of mass (COM): it falls at g = 9.81 m/s^2 whatever the
limbs do. Motion capture need not obey. DeepMimic's humanoid spin is in the air (every geom 5 cm or
more above the ground) from 1.62 to 2.12 s while its COM falls at 0.61 g: it takes off at 1.4 m/s
where a ballistic flight that long needs 2.3. A character started in that take-off (reference state
initialization hands it the reference's velocities) cannot stay up as long as its reference: it comes
down early and lands on a knee (``docs/skills.md``, the spin). A controller that reaches the take-off
by itself has learned to push harder than the clip (its root rises at 1.7-2.2 m/s there).

:func:`flights` finds a clip's airborne intervals and fits each one's COM height with a parabola: its
downward acceleration in units of g is 1 for a ballistic flight. ``benchmarks/flights.py`` tabulates
it for a character's clips.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import torch

from mimic.character.kinematics import ForwardKinematics, center_of_mass
from mimic.character.spec import CharacterSpec
from mimic.engine.geoms import collision_geoms, lowest_points
from mimic.motion.clip import Clip, LoopMode
from mimic.motion.library import MotionLibrary

GRAVITY = 9.81
AIRBORNE_M = 0.05  # every geom's lowest point this far above the ground: in the air (clips float feet 2-4 cm)
MIN_FLIGHT_S = 0.1  # shorter airborne intervals are skipped (a parabola fit needs a few samples)


@dataclass(frozen=True)
class Flight:
    """One airborne interval of a clip.

    Attributes:
        start, end: first and last airborne time (s, from the clip's start).
        com_fall_g: the COM's fitted downward acceleration in units of g (1.0 for a ballistic flight).
        takeoff_vz: the fitted COM vertical velocity at ``start`` (m/s).
        ballistic_vz: the take-off COM vertical velocity a ballistic flight would need to land at the
            fitted landing height at ``end`` (m/s).
    """

    start: float
    end: float
    com_fall_g: float
    takeoff_vz: float
    ballistic_vz: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def com_and_lowest(spec: CharacterSpec, clip: Clip, times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference's COM height (T,) and its lowest collision-geom point (T,) (m) at ``times`` (T,) float64,
    with the clip's loop closed as the character's settings say (as the environment plays it)."""
    model = spec.model
    lib = MotionLibrary([clip], model, dtype=torch.float64,
                        loop_blend_seconds=[spec.loop_blend_seconds_for(clip.name)])
    s = lib.state(torch.zeros(len(times), dtype=torch.long), times)
    body_pos, body_rot = ForwardKinematics(model, dtype=torch.float64)(s.root_pos, s.root_rot, s.joint_rot)
    com_z = center_of_mass(model, body_pos, body_rot)[:, 2]
    geoms = collision_geoms(model, mujoco.MjModel.from_xml_path(str(spec.mjcf_path)))
    low = lowest_points(geoms, body_pos, body_rot).min(dim=-1).values - geoms.ground_height
    return com_z, low


def flights(spec: CharacterSpec, clip: Clip, rate_hz: float = 120.0) -> list[Flight]:
    """Airborne intervals of ``clip`` (every collision geom more than ``AIRBORNE_M`` above the ground for at
    least ``MIN_FLIGHT_S``) over one cycle sampled at ``rate_hz``, each with its COM's fitted downward
    acceleration. A looping clip's flight across its end is reported as two (its end's and its start's)."""
    n = max(int(clip.duration * rate_hz), 2)
    times = torch.linspace(0.0, clip.duration - (1e-6 if clip.loop == LoopMode.WRAP else 0.0), n + 1,
                           dtype=torch.float64)
    com_z, low = com_and_lowest(spec, clip, times)
    air = (low > AIRBORNE_M).long()
    edges = torch.diff(air, prepend=air.new_zeros(1), append=air.new_zeros(1))  # +1 at take-off, -1 after landing
    out = []
    for k, j in zip(torch.nonzero(edges == 1).flatten().tolist(), torch.nonzero(edges == -1).flatten().tolist(),
                    strict=True):
        t, z = times[k:j], com_z[k:j]
        if float(t[-1] - t[0]) >= MIN_FLIGHT_S:
            out.append(_fit(t, z))
    return out


def _fit(t: torch.Tensor, z: torch.Tensor) -> Flight:
    """Least-squares parabola through the COM heights ``z`` (T,) at times ``t`` (T,)."""
    u = t - t[0]
    a = torch.stack((u * u, u, torch.ones_like(u)), dim=-1)
    c2, c1, _ = torch.linalg.lstsq(a, z[:, None]).solution[:, 0].tolist()
    span = float(u[-1])
    drop = (c2 * span * span + c1 * span)  # fitted landing height minus take-off height
    ballistic = (drop + 0.5 * GRAVITY * span * span) / span
    return Flight(start=float(t[0]), end=float(t[-1]), com_fall_g=-2.0 * c2 / GRAVITY, takeoff_vz=c1,
                  ballistic_vz=ballistic)
