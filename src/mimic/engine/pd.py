"""PD control toward joint targets, with DeepMimic's gains and torque limits, batched over envs.

The PD law per DoF is ``tau = kp * err - kd * dof_vel`` (target velocity 0), where a ball joint's
error is the rotation from its current local quaternion ``q`` to the target ``t`` as an exp map in
the child frame, ``log(conj(q) * t)`` (MuJoCo's ball-joint DoF frame), and a hinge's error is
``t - angle``. Torques are limited as in DeepMimic: the norm of a ball joint's 3-D torque, and
``|tau|`` of a hinge.

Damping can be left to the simulator's implicit integrator: with ``damping`` D on the joints the
simulator adds ``-D * dof_vel_next``. The engine then applies ``clamp(kp * err - D * dof_vel) +
D * dof_vel`` itself, so the total torque is the limited PD torque plus ``D * (dof_vel -
dof_vel_next)``: implicit PD when unsaturated, and about the limit when saturated.

Two implementations compute the same numbers: :meth:`PDController.torque_np` on float64 NumPy
arrays (the MuJoCo CPU hot path: it works on the simulator's own arrays, and NumPy's per-call
overhead is below torch's at these sizes, see ``benchmarks/engine_physics_rate.py --pd``) and
:func:`pd_torque` on torch tensors (for tests and device engines).
"""

from __future__ import annotations

import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.character.model import CharacterModel


class PDController:
    """Per-DoF gains, damping split and torque limits of one character, with batched PD math.

    Args:
        character: gives kp, kd (per DoF) and the per-joint torque limits.
        mode: ``"implicit"``, ``"stable"`` or ``"explicit"`` (see :class:`~mimic.engine.base.EngineConfig`).
        physics_dt: the physics step, for the ``"stable"`` mode's extra damping ``kp * dt``.

    Attributes:
        kp, kd: (num_dofs,) float64 gains; ``kd`` is the effective damping of the PD law.
        sim_damping: (num_dofs,) damping the simulator must integrate implicitly (0 for explicit).
        ball_limit: (num_ball,) torque-norm limit of each ball joint.
        hinge_limit: (num_hinge,) torque limit of each hinge.
    """

    def __init__(self, character: CharacterModel, mode: str = "implicit", physics_dt: float = 1 / 240) -> None:
        ch = character
        self.kp = ch.dof_kp.astype(np.float64)
        self.kd = ch.dof_kd.astype(np.float64) + (self.kp * physics_dt if mode == "stable" else 0.0)
        self.sim_damping = np.zeros_like(self.kd) if mode == "explicit" else self.kd.copy()
        lay = {k: v.numpy() for k, v in ch.layout().items()}
        self.ball_pos = lay["ball_pos"]  # (num_ball, 4) columns of joint_pos
        self.ball_dof = lay["ball_dof"]  # (num_ball, 3) columns of dof_vel
        self.hinge_pos = lay["hinge_pos"]  # (num_hinge,)
        self.hinge_dof = lay["hinge_dof"]
        self.ball_limit = ch.joint_torque_limit[ch.ball_bodies].astype(np.float64)
        self.hinge_limit = ch.joint_torque_limit[ch.hinge_bodies].astype(np.float64)
        self.num_dofs = ch.num_dofs
        # Index and gain arrays in the (component, joint, env) layout of torque_np, built once.
        self._ball_pos_t = np.ascontiguousarray(self.ball_pos.T)  # (4, nb)
        self._ball_dof_t = np.ascontiguousarray(self.ball_dof.T)  # (3, nb)
        self._kp2_ball_t = 2.0 * self.kp[self._ball_dof_t][..., None]  # (3, nb, 1)
        self._kd_ball_t = self.kd[self._ball_dof_t][..., None]
        self._damp_ball_t = self.sim_damping[self._ball_dof_t][..., None]
        self._ball_limit_t = self.ball_limit[:, None]  # (nb, 1)
        self._kp_hinge_t = self.kp[self.hinge_dof][:, None]  # (nh, 1)
        self._kd_hinge_t = self.kd[self.hinge_dof][:, None]
        self._damp_hinge_t = self.sim_damping[self.hinge_dof][:, None]
        self._hinge_limit_t = self.hinge_limit[:, None]

    def split_targets(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-control-step precomputation for :meth:`torque_np` from ``targets`` (N, num_joint_pos).

        Returns:
            ``tar_mat`` (4, 4, num_ball, N): the linear map ``q -> conj(q) * t`` of each normalized
            ball target ``t``, ``tar_mat[j, i]`` being the coefficient of ``q[j]`` in component ``i``,
            and ``tar_hinge`` (num_hinge, N): the hinge target angles.
        """
        ball = targets[:, self.ball_pos]
        ball = ball / np.maximum(np.linalg.norm(ball, axis=-1, keepdims=True), 1e-12)
        tw, tx, ty, tz = np.moveaxis(ball, -1, 0).transpose(0, 2, 1)  # each (num_ball, N)
        # mat[j] holds the coefficients of q[j] (qw, qx, qy, qz) in the components (w, x, y, z) of
        # conj(q) * t, so torque_np reads contiguous blocks.
        mat = np.stack([
            np.stack([tw, tx, ty, tz]),
            np.stack([tx, -tw, tz, -ty]),
            np.stack([ty, -tz, -tw, tx]),
            np.stack([tz, ty, -tx, -tw]),
        ])
        return np.ascontiguousarray(mat), np.ascontiguousarray(targets[:, self.hinge_pos].T)

    def torque_np(self, joint_pos: np.ndarray, dof_vel: np.ndarray, tar_mat: np.ndarray, tar_hinge: np.ndarray,
                  out: np.ndarray, sim_damping: bool = False, pd_out: np.ndarray | None = None) -> np.ndarray:
        """Limited PD torque of every env into ``out`` (N, num_dofs), float64.

        Works in (component, joint, env) layout so that each NumPy call handles one array of all
        envs and joints: per-call overhead, not arithmetic, is the cost at these sizes.

        Args:
            joint_pos: (N, num_joint_pos) current joint coordinates (may be a strided view).
            dof_vel: (N, num_dofs) current joint velocities (may be a strided view).
            tar_mat, tar_hinge: targets as returned by :meth:`split_targets`.
            out: (N, num_dofs) array (or strided view) written and returned.
            sim_damping: add ``sim_damping * dof_vel`` to ``out`` (the part the simulator takes back
                implicitly); ``pd_out`` then receives the limited PD torque alone.
            pd_out: optional (N, num_dofs) array for the limited PD torque.
        """
        jp_t, dv_t = joint_pos.T, dof_vel.T
        q = jp_t.take(self._ball_pos_t, axis=0)  # (4, nb, N)
        e = np.einsum("jibn,jbn->ibn", tar_mat, q)  # conj(q) * t
        ew, ev = e[0], e[1:]
        s = np.sqrt((ev * ev).sum(axis=0))
        # exp map of the shortest arc: 2 atan2(|v|, |w|) / |v| * sign(w) * v (the 2 is folded into
        # _kp2_ball_t). Where s = 0, v = 0 too, so the huge scale multiplies zeros.
        scale = np.arctan2(s, np.abs(ew))
        scale /= np.maximum(s, 1e-300)
        np.copysign(scale, ew, out=scale)
        w = dv_t.take(self._ball_dof_t, axis=0)  # (3, nb, N)
        tau_b = self._kp2_ball_t * (scale * ev)
        tau_b -= self._kd_ball_t * w
        norm = np.sqrt((tau_b * tau_b).sum(axis=0))
        tau_b *= self._ball_limit_t / np.maximum(norm, self._ball_limit_t)  # limit / norm when above
        qh = jp_t.take(self.hinge_pos, axis=0)  # (nh, N)
        wh = dv_t.take(self.hinge_dof, axis=0)
        tau_h = self._kp_hinge_t * (tar_hinge - qh)
        tau_h -= self._kd_hinge_t * wh
        np.minimum(np.maximum(tau_h, -self._hinge_limit_t, out=tau_h), self._hinge_limit_t, out=tau_h)
        if pd_out is not None:
            pd_out.T[self._ball_dof_t] = tau_b
            pd_out.T[self.hinge_dof] = tau_h
        if sim_damping:
            tau_b += self._damp_ball_t * w
            tau_h += self._damp_hinge_t * wh
        out_t = out.T
        out_t[self._ball_dof_t] = tau_b
        out_t[self.hinge_dof] = tau_h
        return out


def pd_torque(character: CharacterModel, joint_pos: torch.Tensor, dof_vel: torch.Tensor, targets: torch.Tensor,
              kp: torch.Tensor, kd: torch.Tensor) -> torch.Tensor:
    """Limited PD torque (..., num_dofs) in torch; the reference for :meth:`PDController.torque_np`.

    Args:
        character: gives the joint layout and torque limits.
        joint_pos: (..., num_joint_pos) current joint coordinates.
        dof_vel: (..., num_dofs) current joint velocities.
        targets: (..., num_joint_pos) targets in the same layout.
        kp, kd: (num_dofs,) gains.
    """
    ch = character
    cur = ch.joint_pos_to_rot(joint_pos)
    tar = ch.joint_pos_to_rot(targets)
    err_rot = rot.quat_mul(rot.quat_conj(cur), tar)
    err = ch.joint_rot_to_dof_exp(err_rot)
    lay = ch.layout(joint_pos.device)
    # Hinge error without wrapping: the hinge range may exceed pi.
    err[..., lay["hinge_dof"]] = targets[..., lay["hinge_pos"]] - joint_pos[..., lay["hinge_pos"]]
    tau = kp * err - kd * dof_vel
    limit = torch.as_tensor(ch.joint_torque_limit, dtype=tau.dtype, device=tau.device)
    ball_tau = tau[..., lay["ball_dof"]]
    ball_lim = limit[torch.as_tensor(ch.ball_bodies, device=tau.device)]
    norm = ball_tau.norm(dim=-1)
    tau[..., lay["ball_dof"]] = ball_tau * torch.clamp(ball_lim / norm.clamp_min(1e-30), max=1.0)[..., None]
    hinge_lim = limit[torch.as_tensor(ch.hinge_bodies, device=tau.device)]
    tau[..., lay["hinge_dof"]] = torch.maximum(torch.minimum(tau[..., lay["hinge_dof"]], hinge_lim), -hinge_lim)
    return tau
