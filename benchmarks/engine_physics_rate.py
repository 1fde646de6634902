"""Which physics rate for DeepMimic's humanoid? Throughput and stability of the MuJoCo CPU engine.

For each physics rate it prints:

- ``engine/s``: policy (control) steps per second of ``engine.step()`` (PD at every physics step),
  all envs together, PD targets = rest pose (the character stands);
- ``raw/s``: the same model stepped by ``Batch.step(nstep=substeps)`` with constant controls and the
  MJCF stiffness as passive springs (so it stands too), no Python between physics steps, counted in
  policy steps (physics steps / substeps);
- ``ratio``: median over interleaved rounds of engine/raw, measured back to back so that machine
  noise hits both alike;
- ``blowups``: env-steps flagged invalid (NaN/inf, a body velocity component > 100, or a MuJoCo
  divergence warning) in a random-target stress run: ``--stress-steps`` control steps of all envs,
  fresh uniformly random PD targets within the joint ranges every step, fallen (root < 0.3 m) or
  invalid envs reset to the rest pose; ``stress/s`` is that run's env-steps per second;
- ``stand_min_z``: lowest root height over 5 s of PD toward the rest pose from standing.

Run: ``python benchmarks/engine_physics_rate.py`` (about 4 minutes on 2 cores), ``--quick`` for a
short run, ``--pd`` to also time the PD math alone in NumPy and torch.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.character.spec import load_spec
from mimic.engine import EngineConfig, MujocoCpuEngine
from mimic.engine.bench import count_blowups, raw_batch, standing_min_height
from mimic.engine.pd import PDController

MJCF_PATH = load_spec("humanoid3d").mjcf_path


def interleaved_rates(engine: MujocoCpuEngine, raw, rounds: int, window: float) -> tuple[list[float], list[float]]:
    """Policy steps/s of the engine and of raw stepping, in alternating windows."""
    n, substeps = engine.num_envs, engine.substeps
    eng_rates, raw_rates = [], []
    engine.step()
    raw.step(nstep=substeps)
    for _ in range(rounds):
        for fn, out in ((engine.step, eng_rates), (lambda: raw.step(nstep=substeps), raw_rates)):
            calls, start = 0, time.perf_counter()
            while time.perf_counter() - start < window:
                fn()
                calls += 1
            out.append(calls * n / (time.perf_counter() - start))
    return eng_rates, raw_rates


def rate_row(hz: int, args: argparse.Namespace) -> dict[str, float]:
    config = EngineConfig(physics_hz=hz, num_threads=args.threads)
    engine = MujocoCpuEngine(MJCF_PATH, args.num_envs, config)
    raw = raw_batch(MJCF_PATH, args.num_envs, config, pose="stand")
    eng, raw_r = interleaved_rates(engine, raw, args.rounds, args.window)
    ratios = [e / r for e, r in zip(eng, raw_r, strict=True)]
    stress = count_blowups(engine, args.stress_steps, seed=0, min_root_height=0.3)
    stand = standing_min_height(MujocoCpuEngine(MJCF_PATH, 4, config), seconds=5.0)
    return {
        "hz": hz, "substeps": config.substeps, "engine": statistics.median(eng), "raw": statistics.median(raw_r),
        "ratio": statistics.median(ratios), "blowups": stress["invalid"], "nonfinite": stress["nonfinite"],
        "env_steps": stress["env_steps"], "stress_rate": stress["env_steps"] / stress["seconds"],
        "resets": stress["resets"], "stand_min_z": stand,
    }


def torch_pd(pd: PDController, jp: torch.Tensor, dv: torch.Tensor, tar: torch.Tensor,
             tar_h: torch.Tensor) -> torch.Tensor:
    """The same math as ``PDController.torque_np`` in torch, (component, joint, env) layout."""
    q = jp.T[torch.as_tensor(pd._ball_pos_t)]  # (4, nb, N)
    e = rot.quat_mul(rot.quat_conj(q.permute(1, 2, 0)), tar)  # (nb, N, 4)
    e = torch.where(e[..., :1] < 0, -e, e)
    s = e[..., 1:].norm(dim=-1)
    scale = 2.0 * torch.atan2(s, e[..., 0]) / s.clamp_min(1e-300)
    w = dv.T[torch.as_tensor(pd._ball_dof_t)].permute(1, 2, 0)  # (nb, N, 3)
    kp = torch.as_tensor(pd.kp[pd.ball_dof])[:, None]
    kd = torch.as_tensor(pd.kd[pd.ball_dof])[:, None]
    tau = kp * (scale[..., None] * e[..., 1:]) - kd * w
    lim = torch.as_tensor(pd.ball_limit)[:, None, None]
    tau = tau * (lim / torch.maximum(tau.norm(dim=-1, keepdim=True), lim))
    hinge_lim = torch.as_tensor(pd.hinge_limit)[:, None]
    tau_h = (torch.as_tensor(pd.kp[pd.hinge_dof])[:, None] * (tar_h - jp.T[torch.as_tensor(pd.hinge_pos)])
             - torch.as_tensor(pd.kd[pd.hinge_dof])[:, None] * dv.T[torch.as_tensor(pd.hinge_dof)])
    out = torch.empty(dv.shape[1], dv.shape[0], dtype=dv.dtype)
    out[torch.as_tensor(pd.ball_dof)] = tau.permute(0, 2, 1)
    out[torch.as_tensor(pd.hinge_dof)] = torch.clamp(tau_h, -hinge_lim, hinge_lim)
    return out.T


def pd_timing(num_envs: int) -> None:
    """Time one PD evaluation (one physics substep) in NumPy and torch."""
    engine = MujocoCpuEngine(MJCF_PATH, num_envs, EngineConfig(num_threads=1))
    pd = engine.pd
    out = np.zeros((num_envs, pd.num_dofs))
    jp, dv = engine._jpos, engine._dvel
    tar_mat, tar_h = engine._tar_mat, engine._tar_hinge
    tar = torch.as_tensor(engine.pd_targets.double().numpy()[:, pd.ball_pos]).permute(1, 0, 2)
    jp_t, dv_t, tar_h_t = torch.from_numpy(jp), torch.from_numpy(dv), torch.from_numpy(tar_h)
    cases = {
        "numpy (engine)": lambda: pd.torque_np(jp, dv, tar_mat, tar_h, out, sim_damping=True),
        "torch (same math)": lambda: torch_pd(pd, jp_t, dv_t, tar, tar_h_t),
    }
    for name, fn in cases.items():
        fn()
        times = []
        for _ in range(30):
            start = time.perf_counter()
            for _ in range(20):
                fn()
            times.append((time.perf_counter() - start) / 20)
        print(f"PD {name:18s} N={num_envs}: {1e6 * statistics.median(times):7.1f} us per physics step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, nargs="+", default=[120, 240, 300, 480, 600])
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=8, help="interleaved engine/raw rounds")
    parser.add_argument("--window", type=float, default=0.4, help="seconds per round and side")
    parser.add_argument("--stress-steps", type=int, default=400, help="control steps of the stress run")
    parser.add_argument("--quick", action="store_true", help="64 envs, 3 rounds, 60 stress steps")
    parser.add_argument("--pd", action="store_true", help="also time the PD math alone")
    args = parser.parse_args()
    if args.quick:
        args.num_envs, args.rounds, args.window, args.stress_steps = 64, 3, 0.3, 60
    torch.set_num_threads(1)  # the engine's threads are MuJoCo's; keep torch off the other core
    if args.pd:
        for n in (64, args.num_envs):
            pd_timing(n)
    print(f"num_envs={args.num_envs} threads={args.threads} control_hz=30; policy steps/s, all envs together")
    header = (f"{'hz':>5} {'sub':>4} {'engine/s':>9} {'raw/s':>9} {'ratio':>6} {'blowups':>13} {'nonfinite':>9} "
              f"{'stress/s':>9} {'resets':>7} {'stand_min_z':>11}")
    print(header)
    for hz in args.rates:
        r = rate_row(hz, args)
        print(f"{r['hz']:>5} {r['substeps']:>4} {r['engine']:>9.0f} {r['raw']:>9.0f} {r['ratio']:>6.3f} "
              f"{r['blowups']:>6}/{r['env_steps']:<6} {r['nonfinite']:>9} {r['stress_rate']:>9.0f} {r['resets']:>7} "
              f"{r['stand_min_z']:>11.3f}", flush=True)


if __name__ == "__main__":
    main()
