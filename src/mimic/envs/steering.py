"""The steering task (MimicKit's ``task_steering``): move in a target direction at a target speed.

Each env has a target direction (an angle about z, world frame) and speed, drawn at reset and again every
``change_min_s``-``change_max_s`` seconds. The policy sees the target in its heading frame (cos and sin of
the angle from its heading, and the speed: 3 numbers appended to the observation). The reward, in [0, 1]:

- ``target_weight * exp(-vel_scale * (speed - v . d)^2)``, where ``v . d`` is the root's horizontal
  velocity along the target direction, and 0 when it moves away (``v . d <= 0``);
- ``facing_weight * max(0, f . d)``, where ``f`` is the character's heading direction.

MimicKit's weights and scale (0.7, 0.3, 0.5); its speeds are 0.5-5 m/s, ours default to 0.5-3 m/s, as fast
as the bundled clips move (the run's 3.3 m/s). ``reverse_prob`` (0 by default, as MimicKit) makes a share of
the changes under way about-turns, for practice: the new direction lies within ``reverse_spread_deg`` of the
opposite of the current target's. Test mode reports the angle between the root's velocity and
the target direction (degrees) and the speed error (m/s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mimic.character import rotations as rot
from mimic.devices import upload
from mimic.errors import MimicError


@dataclass
class SteeringConfig:
    """``env.steering``: target ranges, how often targets change, the reward's weights, practice about-turns."""

    speed_min: float = 0.5
    speed_max: float = 3.0
    change_min_s: float = 4.0
    change_max_s: float = 7.0
    target_weight: float = 0.7
    facing_weight: float = 0.3
    vel_scale: float = 0.5
    reverse_prob: float = 0.0
    reverse_spread_deg: float = 45.0

    def __post_init__(self) -> None:
        if not 0 <= self.speed_min <= self.speed_max:
            raise MimicError(f"env.steering: need 0 <= speed_min <= speed_max, got {self.speed_min}, {self.speed_max}")
        if not 0 < self.change_min_s <= self.change_max_s:
            raise MimicError(f"env.steering: need 0 < change_min_s <= change_max_s, got {self.change_min_s}, "
                             f"{self.change_max_s}")
        if not 0 <= self.reverse_prob <= 1:
            raise MimicError(f"env.steering.reverse_prob: need a probability in [0, 1], got {self.reverse_prob}")
        if not 0 <= self.reverse_spread_deg <= 180:
            raise MimicError(f"env.steering.reverse_spread_deg: need 0-180 degrees, got {self.reverse_spread_deg}")


class SteeringTask:
    """Targets, observation and reward of the steering task for ``num_envs`` characters.

    Attributes:
        angle: (N,) target direction (rad, about z, world frame); speed: (N,) target speed (m/s);
        time_left: (N,) seconds until the next random change.
    """

    obs_dim = 3

    def __init__(self, config: SteeringConfig, num_envs: int, generator: torch.Generator,
                 device: torch.device | str = "cpu") -> None:
        self.config, self.generator = config, generator
        self.device = torch.device(device)
        self.angle = torch.zeros(num_envs, device=self.device)
        self.speed = torch.zeros(num_envs, device=self.device)
        self.time_left = torch.zeros(num_envs, device=self.device)
        self.scripted: list[tuple[float, float, float]] | None = None  # (time, angle_deg, speed), see script()
        self.clock = 0.0

    def reset(self, env_ids: torch.Tensor) -> None:
        """New random targets for envs ``env_ids`` (M,)."""
        if self.scripted is not None:
            self._apply_script(env_ids)
            return
        self._draw(env_ids)

    def script(self, targets: list[tuple[float, float, float]]) -> None:
        """Replace the random targets by a fixed sequence of ``(time_s, angle_deg, speed)`` for every env (for
        reproducible videos); the clock restarts at 0."""
        self.scripted = sorted(targets)
        self.clock = 0.0
        self._apply_script(torch.arange(len(self.angle), device=self.device))

    def advance(self, dt: float) -> None:
        """Move time on by ``dt``; envs whose target time ran out get new targets."""
        self.clock += dt
        if self.scripted is not None:
            self._apply_script(torch.arange(len(self.angle), device=self.device))
            return
        self.time_left -= dt
        due = torch.nonzero(self.time_left <= 0).squeeze(-1)
        if len(due):
            previous = self.angle[due].clone()
            self._draw(due)
            if self.config.reverse_prob > 0:
                self._reverse_some(due, previous)

    def observation(self, root_rot: torch.Tensor) -> torch.Tensor:
        """(N, 3): cos and sin of the target's angle from the heading of ``root_rot`` (N, 4), and its speed."""
        rel = self.angle - rot.calc_heading(root_rot).to(self.angle.dtype)
        return torch.stack((torch.cos(rel), torch.sin(rel), self.speed), dim=-1).to(root_rot.dtype)

    def reward(self, root_vel: torch.Tensor, root_rot: torch.Tensor) -> torch.Tensor:
        """(N,) the steering reward of world root velocities (N, 3) and rotations (N, 4)."""
        cfg = self.config
        direction = torch.stack((torch.cos(self.angle), torch.sin(self.angle)), dim=-1)
        along = (root_vel[:, :2].float() * direction).sum(-1)
        move = torch.exp(-cfg.vel_scale * (self.speed - along).square())
        move = torch.where(along > 0, move, torch.zeros_like(move))
        heading = rot.calc_heading(root_rot).float()
        facing = (torch.cos(heading) * direction[:, 0] + torch.sin(heading) * direction[:, 1]).clamp_min(0.0)
        return cfg.target_weight * move + cfg.facing_weight * facing

    def errors(self, root_vel: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N,) ``heading_error_deg``: angle between the root's horizontal velocity and the target direction;
        ``speed_error_mps``: |speed along the target direction - target speed|."""
        v = root_vel[:, :2].float()
        direction = torch.stack((torch.cos(self.angle), torch.sin(self.angle)), dim=-1)
        along = (v * direction).sum(-1)
        across = v[:, 0] * direction[:, 1] - v[:, 1] * direction[:, 0]
        return {"heading_error_deg": torch.rad2deg(torch.atan2(across, along).abs()),
                "speed_error_mps": (along - self.speed).abs()}

    def _draw(self, ids: torch.Tensor) -> None:
        cfg, m = self.config, len(ids)
        # the CPU generator: the same draws on any device
        u = upload(torch.rand(3, m, generator=self.generator), self.device)
        self.angle[ids] = 2 * math.pi * u[0]
        self.speed[ids] = cfg.speed_min + (cfg.speed_max - cfg.speed_min) * u[1]
        self.time_left[ids] = cfg.change_min_s + (cfg.change_max_s - cfg.change_min_s) * u[2]

    def _reverse_some(self, ids: torch.Tensor, previous: torch.Tensor) -> None:
        """Turn a ``reverse_prob`` share of the new targets of envs ``ids`` (M,) around: within
        ``reverse_spread_deg`` of the opposite of their ``previous`` (M,) directions."""
        cfg, m = self.config, len(ids)
        u = upload(torch.rand(2, m, generator=self.generator), self.device)
        spread = math.radians(cfg.reverse_spread_deg)
        about = torch.remainder(previous + math.pi + spread * (2 * u[1] - 1), 2 * math.pi)
        self.angle[ids] = torch.where(u[0] < cfg.reverse_prob, about, self.angle[ids])

    def _apply_script(self, ids: torch.Tensor) -> None:
        current = [t for t in self.scripted if t[0] <= self.clock + 1e-9] or self.scripted[:1]
        _, angle_deg, speed = current[-1]
        self.angle[ids] = math.radians(angle_deg)
        self.speed[ids] = speed
