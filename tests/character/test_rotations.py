"""Rotations: analytic values, round trips and edge cases of the (w, x, y, z) convention."""

from __future__ import annotations

import math

import pytest
import torch

from mimic.character import rotations as R

D = torch.float64


def rand_quats(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return R.quat_normalize(torch.randn(n, 4, generator=g, dtype=D))


def axis_angle(axis, angle) -> torch.Tensor:
    return R.quat_from_axis_angle(torch.tensor(axis, dtype=D), torch.tensor(angle, dtype=D))


def test_rotate_about_z_by_90_degrees_maps_x_to_y():
    q = axis_angle([0.0, 0.0, 1.0], math.pi / 2)
    v = R.quat_rotate(q, torch.tensor([1.0, 0.0, 0.0], dtype=D))
    assert torch.allclose(v, torch.tensor([0.0, 1.0, 0.0], dtype=D), atol=1e-12)


def test_mul_composes_right_to_left():
    qx = axis_angle([1.0, 0.0, 0.0], math.pi / 2)
    qz = axis_angle([0.0, 0.0, 1.0], math.pi / 2)
    v = torch.tensor([0.0, 1.0, 0.0], dtype=D)
    # qz * qx: first about x (y -> z), then about z (z stays z).
    assert torch.allclose(R.quat_rotate(R.quat_mul(qz, qx), v), torch.tensor([0.0, 0.0, 1.0], dtype=D), atol=1e-12)
    assert torch.allclose(R.quat_rotate(R.quat_mul(qz, qx), v), R.quat_rotate(qz, R.quat_rotate(qx, v)), atol=1e-12)


def test_inverse_and_identity():
    q = rand_quats(100)
    ident = R.quat_mul(q, R.quat_inv(q))
    assert torch.allclose(R.quat_canonical(ident), R.quat_identity((100,), dtype=D), atol=1e-12)
    v = torch.randn(100, 3, dtype=D)
    assert torch.allclose(R.quat_rotate_inv(q, R.quat_rotate(q, v)), v, atol=1e-12)


def test_matrix_round_trip_and_against_rotate():
    q = rand_quats(500)
    m = R.quat_to_matrix(q)
    v = torch.randn(500, 3, dtype=D)
    assert torch.allclose((m @ v[..., None])[..., 0], R.quat_rotate(q, v), atol=1e-12)
    assert torch.allclose(R.quat_from_matrix(m), R.quat_canonical(q), atol=1e-12)
    assert torch.allclose(m @ m.transpose(-1, -2), torch.eye(3, dtype=D).expand(500, 3, 3), atol=1e-12)


@pytest.mark.parametrize("axis", [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.6, 0.0, 0.8]])
def test_180_degree_rotations(axis):
    q = axis_angle(axis, math.pi)
    assert torch.allclose(R.quat_from_matrix(R.quat_to_matrix(q)).abs(), q.abs(), atol=1e-12)
    ax, ang = R.quat_to_axis_angle(q)
    assert ang.item() == pytest.approx(math.pi)
    assert torch.allclose(ax.abs(), torch.tensor(axis, dtype=D).abs(), atol=1e-12)
    e = R.quat_to_exp_map(q)
    assert e.norm().item() == pytest.approx(math.pi)


def test_exp_map_round_trip_and_sign_flip():
    q = rand_quats(500)
    e = R.quat_to_exp_map(q)
    assert (e.norm(dim=-1) <= math.pi + 1e-12).all()
    assert torch.allclose(R.exp_map_to_quat(e), R.quat_canonical(q), atol=1e-12)
    # q and -q are the same rotation: same exp map, same matrix, same angle.
    assert torch.allclose(R.quat_to_exp_map(-q), e, atol=1e-12)
    assert torch.allclose(R.quat_to_matrix(-q), R.quat_to_matrix(q), atol=1e-12)
    assert torch.allclose(R.quat_diff_angle(q, -q), torch.zeros(500, dtype=D), atol=1e-6)


def test_exp_map_small_angles_and_identity():
    e = torch.tensor([[0.0, 0.0, 0.0], [1e-9, 0.0, 0.0], [0.0, 1e-4, 0.0]], dtype=D)
    q = R.exp_map_to_quat(e)
    assert torch.allclose(q[0], torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=D))
    assert torch.allclose(R.quat_to_exp_map(q), e, atol=1e-15)
    ax, ang = R.quat_to_axis_angle(q[0])
    assert ang.item() == 0.0 and torch.allclose(ax, torch.tensor([1.0, 0.0, 0.0], dtype=D))
    # gradients stay finite at the identity
    e0 = torch.zeros(3, dtype=D, requires_grad=True)
    R.exp_map_to_quat(e0).sum().backward()
    assert torch.isfinite(e0.grad).all()


def test_axis_angle_round_trip():
    q = rand_quats(200)
    ax, ang = R.quat_to_axis_angle(q)
    assert torch.allclose(R.quat_from_axis_angle(ax, ang), R.quat_canonical(q), atol=1e-12)


def test_slerp_endpoints_midpoint_and_shortest_arc():
    q0 = R.quat_identity((), dtype=D)
    q1 = axis_angle([0.0, 0.0, 1.0], math.pi / 2)
    assert torch.allclose(R.quat_slerp(q0, q1, 0.0), q0)
    assert torch.allclose(R.quat_slerp(q0, q1, 1.0), q1)
    assert torch.allclose(R.quat_slerp(q0, q1, 0.5), axis_angle([0.0, 0.0, 1.0], math.pi / 4), atol=1e-12)
    # -q1 is the same rotation: slerp takes the short way and gives the same midpoint rotation
    mid = R.quat_slerp(q0, -q1, 0.5)
    assert R.quat_diff_angle(mid, axis_angle([0.0, 0.0, 1.0], math.pi / 4)).item() == pytest.approx(0.0, abs=1e-7)
    # nearly identical quaternions
    q2 = R.quat_normalize(q1 + 1e-9)
    assert torch.isfinite(R.quat_slerp(q1, q2, 0.3)).all()


def test_slerp_constant_angular_speed():
    q0, q1 = rand_quats(2, seed=3)
    ts = torch.linspace(0, 1, 11, dtype=D)
    qs = R.quat_slerp(q0.expand(11, 4), q1.expand(11, 4), ts)
    steps = R.quat_diff_angle(qs[:-1], qs[1:])
    assert torch.allclose(steps, steps[0].expand_as(steps), atol=1e-9)


def test_heading_and_heading_free_rotation():
    yaw = axis_angle([0.0, 0.0, 1.0], 0.7)
    pitch = axis_angle([0.0, 1.0, 0.0], 0.3)
    q = R.quat_mul(yaw, pitch)
    assert R.calc_heading(q).item() == pytest.approx(0.7)
    assert torch.allclose(R.heading_quat(q), yaw, atol=1e-12)
    assert torch.allclose(R.quat_canonical(R.remove_heading(q)), pitch, atol=1e-12)
    assert R.calc_heading(R.remove_heading(rand_quats(50))).abs().max().item() < 1e-9


def test_tan_norm_encoding():
    assert torch.allclose(R.quat_to_tan_norm(R.quat_identity((), dtype=D)),
                          torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 1.0], dtype=D))
    q = axis_angle([1.0, 0.0, 0.0], math.pi / 2)  # z -> -y
    assert torch.allclose(R.quat_to_tan_norm(q), torch.tensor([1.0, 0.0, 0.0, 0.0, -1.0, 0.0], dtype=D), atol=1e-12)
    m = R.quat_to_matrix(rand_quats(10))
    tn = R.quat_to_tan_norm(rand_quats(10))
    assert tn.shape == (10, 6) and torch.allclose(tn[:, :3], m[:, :, 0], atol=1e-12)


def test_twist_angle_of_pure_rotation():
    axis = torch.tensor([0.0, -1.0, 0.0], dtype=D)
    for angle in (-3.0, -1.0, 0.0, 0.5, 3.1):
        q = R.quat_from_axis_angle(axis, torch.tensor(angle, dtype=D))
        assert R.quat_twist_angle(q, axis).item() == pytest.approx(angle, abs=1e-12)
        assert R.quat_twist_angle(-q, axis).item() == pytest.approx(angle, abs=1e-12)


def test_angular_velocity_world_and_local():
    q0 = rand_quats(1, seed=5)[0]
    w = torch.tensor([0.3, -0.2, 0.5], dtype=D)
    dt = 0.1
    q1 = R.quat_mul(R.exp_map_to_quat(w * dt), q0)
    assert torch.allclose(R.angular_velocity(q0, q1, dt), w, atol=1e-12)
    q1_local = R.quat_mul(q0, R.exp_map_to_quat(w * dt))
    assert torch.allclose(R.angular_velocity(q0, q1_local, dt, local=True), w, atol=1e-12)
