"""Is a discriminator's high accuracy a bug or a real difference? A fresh discriminator, trained offline.

AMP's discriminator often separates the clips from the policy's motion almost perfectly (accuracy near 1
on both sides) for the whole run. That is either a mismatch between the two sides' feature pipelines (a
bug: the policy can never look like the data) or a real difference in motion. This script tells them
apart for any policy (an AMP one, or a tracking controller that follows the clip closely):

1. **pipeline**: characters placed on the clip at random times; the AMP frame computed from the
   simulator's state and from the motion library must agree (max abs difference printed);
2. **control**: a fresh discriminator trained on two independent sets of clip samples must stay near 0.5
   held-out accuracy (the probe does not overfit);
3. **policy**: the same fresh discriminator trained on clip samples against the policy's own rollouts
   (deterministic actions unless ``--stochastic``), held-out accuracy on each side, over all features
   and per feature group (root height, root rotation, root velocities, joint rotations, joint
   velocities, key-body positions);
4. for an AMP run's checkpoint (not a shipped, policy-only file: it holds no discriminator), the run's own
   discriminator's accuracy on the same samples.

The probe: an MLP of ``--hidden`` units, binary cross-entropy, Adam 1e-4, minibatches of 256, trained on 80 %
of each side and scored on the other 20 %, inputs standardized by the pooled mean and std.

Run: ``python benchmarks/amp_probe.py amp_walk [--steps 400] [--num-envs 64] [--vdb 64:0.5] [--json]`` (a
shipped controller's name, a run directory or a checkpoint). ``--vdb DIM:INFO`` also trains the probe with a
variational bottleneck (``agent.amp.vdb_dim``, ``vdb_info``): what accuracy does the bound leave? ``--json``
prints one JSON line last.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import torch

from mimic.agents.amp import discriminator_of
from mimic.envs.amp_obs import amp_frame_groups
from mimic.envs.config import EnvConfig
from mimic.envs.terminations import DoneReason
from mimic.envs.tracking import ImitationEnv
from mimic.policies import load_policy


def with_amp_obs(env_config: EnvConfig) -> EnvConfig:
    """``env_config`` with AMP observations: 2 frames (DeepMimic's) where the run had none."""
    return env_config if env_config.amp_obs_steps else replace(env_config, amp_obs_steps=2)


def pipeline_gap(env: ImitationEnv) -> float:
    """Max abs difference (over envs and features) between the AMP frame of the simulator placed on the clip
    and the motion library's frame at the same time."""
    env.reset()
    sim = env.amp_frame_of_sim(env.sim_track_state(env.engine))
    ref = env.amp.motion_frames(env.clip_ids, env.motion_time)[:, 0]
    return float((sim - ref).abs().max())


def rollouts(agent, env: ImitationEnv, steps: int, stochastic: bool) -> tuple[torch.Tensor, float]:
    """(M, D) AMP observations of the policy whose every frame was simulated (the first steps after a reset
    hold clip frames and are left out), and the share of episodes that ended in a fall."""
    obs = env.reset()
    age = torch.zeros(env.num_envs, dtype=torch.long)
    out, ended, fell = [], 0, 0
    for _ in range(steps):
        with torch.no_grad():
            action = agent.act(obs, deterministic=not stochastic).env_action
        obs, _, done, info = env.step(action)
        age += 1
        keep = (done == 0) & (age >= env.amp.steps)
        out.append(info["amp_obs"][keep])
        ended += int((done != 0).sum())
        fell += int((done == DoneReason.FAIL).sum())
        age[done != 0] = 0
    return torch.cat(out), fell / max(ended, 1)


def _balanced_standardized(a: torch.Tensor, b: torch.Tensor, g: torch.Generator
                           ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """As many random rows of ``a`` (N, D) and ``b`` (M, D) as the smaller has, standardized by their pooled mean
    and std, and the row that splits training (first 80 %) from held-out samples."""
    n = min(len(a), len(b))
    a, b = a[torch.randperm(len(a), generator=g)[:n]].float(), b[torch.randperm(len(b), generator=g)[:n]].float()
    pooled = torch.cat((a, b))
    mean, std = pooled.mean(0), pooled.std(0).clamp_min(1e-4)
    return (a - mean) / std, (b - mean) / std, int(0.8 * n)


def probe(a: torch.Tensor, b: torch.Tensor, hidden: list[int], iters: int, seed: int = 0,
          noise: float = 0.0) -> tuple[float, ...]:
    """Held-out accuracy (on ``a``, on ``b``) of a fresh MLP trained to tell ``a`` (N, D) from ``b`` (M, D).

    With ``noise`` > 0 (instance noise), every training input gets Gaussian noise of that std in the
    standardized units, and four accuracies come back: on noisy held-out inputs (a, b), then on clean ones."""
    g = torch.Generator().manual_seed(seed)
    a, b, split = _balanced_standardized(a, b, g)
    torch.manual_seed(seed)
    layers, width = [], a.shape[1]
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    net = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    bce = torch.nn.functional.softplus
    def noisy(x: torch.Tensor) -> torch.Tensor:
        return x + noise * torch.randn(x.shape, generator=g) if noise > 0 else x

    for _ in range(iters):
        i = torch.randint(0, split, (256,), generator=g)
        loss = bce(-net(noisy(a[i]))).mean() + bce(net(noisy(b[i]))).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        held_a, held_b = a[split:], b[split:]
        clean = float((net(held_a) > 0).float().mean()), float((net(held_b) < 0).float().mean())
        if noise <= 0:
            return clean
        return float((net(noisy(held_a)) > 0).float().mean()), float((net(noisy(held_b)) < 0).float().mean()), *clean


def probe_vdb(a: torch.Tensor, b: torch.Tensor, hidden: list[int], iters: int, dim: int, info: float,
              beta_lr: float, seed: int = 0) -> dict[str, float]:
    """:func:`probe` with a variational bottleneck (``agent.amp.vdb_*``: a code of ``dim`` numbers, its mean KL
    held near ``info`` nats by dual ascent with step ``beta_lr``): held-out accuracy (on ``a``, on ``b``) of
    sampled codes (the discriminator as it trains) and of mean codes (as its rewards see it), the held-out
    codes' mean KL, the final beta, and the mean reward gap (``a``'s mean logit minus ``b``'s, mean codes)."""
    from mimic.agents.discriminator import Discriminator

    g = torch.Generator().manual_seed(seed)
    a, b, split = _balanced_standardized(a, b, g)
    net = Discriminator(a.shape[1], hidden, g, bottleneck=dim)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    bce = torch.nn.functional.softplus
    beta = 0.0
    for _ in range(iters):
        i = torch.randint(0, split, (256,), generator=g)
        la, kla = net.logits_and_kl(a[i], torch.randn(256, dim, generator=g))
        lb, klb = net.logits_and_kl(b[i], torch.randn(256, dim, generator=g))
        kl = 0.5 * (kla.mean() + klb.mean())
        loss = bce(-la).mean() + bce(lb).mean() + beta * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        beta = max(0.0, beta + beta_lr * (kl.item() - info))
    with torch.no_grad():
        held_a, held_b = a[split:], b[split:]
        la, kla = net.logits_and_kl(held_a, torch.randn(len(held_a), dim, generator=g))
        lb, klb = net.logits_and_kl(held_b, torch.randn(len(held_b), dim, generator=g))
        ma, mb = net(held_a), net(held_b)
    return {"sampled": (float((la > 0).float().mean()), float((lb < 0).float().mean())),
            "mean_code": (float((ma > 0).float().mean()), float((mb < 0).float().mean())),
            "kl": float(0.5 * (kla.mean() + klb.mean())), "beta": beta, "logit_gap": float(ma.mean() - mb.mean())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("policy", help="a shipped controller's name, a run directory or a checkpoint")
    p.add_argument("--steps", type=int, default=400, help="control steps of rollouts (default 400)")
    p.add_argument("--num-envs", type=int, default=64, help="characters rolled out at once (default 64)")
    p.add_argument("--stochastic", action="store_true", help="sample actions (default: the mean action)")
    p.add_argument("--hidden", default="512,256", help="the probe's hidden layers (default 512,256)")
    p.add_argument("--iters", type=int, default=1500, help="the probe's training steps (default 1500)")
    p.add_argument("--noise", default="", help="instance-noise stds to try (standardized units, e.g. 0.5,1,2): "
                   "the probe trained with that noise on both sides, accuracy on noisy and on clean inputs")
    p.add_argument("--vdb", default="", metavar="DIM:INFO[,DIM:INFO]",
                   help="also train probes with a variational bottleneck (agent.amp.vdb_dim, vdb_info), e.g. 64:0.5: "
                        "accuracy of sampled and of mean codes (the discriminator a VDB run trains, and its rewards)")
    p.add_argument("--vdb-beta-lr", type=float, default=1e-3, help="the bottleneck probes' dual step (default 1e-3)")
    p.add_argument("--json", action="store_true", help="print one JSON line last")
    args = p.parse_args()
    torch.set_num_threads(1)
    hidden = [int(h) for h in args.hidden.split(",") if h]
    start = time.time()
    agent, env, _ = load_policy(args.policy, args.num_envs, env_change=with_amp_obs)
    gap = pipeline_gap(env)
    policy_x, fall_rate = rollouts(agent, env, args.steps, args.stochastic)
    clip_x = env.amp.sample_expert(len(policy_x))
    clip_y = env.amp.sample_expert(len(policy_x))
    result: dict[str, object] = {"policy": args.policy, "samples": len(policy_x), "fall_rate": round(fall_rate, 3),
                                 "pipeline_max_abs_diff": gap}
    print(f"{args.policy}: {len(policy_x):,} simulated AMP observations ({env.amp.steps} frames of "
          f"{env.amp.frame_dim}), fall rate {fall_rate:.3f}")
    print(f"pipeline: simulator vs motion library on the clip, max abs difference {gap:.2e}")
    control = probe(clip_x, clip_y, hidden, args.iters)
    result["control_acc"] = [round(v, 3) for v in control]
    print(f"control: clip vs clip, held-out accuracy {control[0]:.3f} / {control[1]:.3f} (0.5 = inseparable)")
    whole = probe(clip_x, policy_x, hidden, args.iters)
    result["probe_acc_clip"], result["probe_acc_policy"] = round(whole[0], 3), round(whole[1], 3)
    print(f"policy: clip vs policy, held-out accuracy {whole[0]:.3f} on the clip, {whole[1]:.3f} on the policy")
    groups: dict[str, list[float]] = {}
    frame = env.amp.frame_dim
    for name, span in amp_frame_groups(env.model, len(env.key_bodies)).items():
        cols = torch.cat([torch.arange(span.start, span.stop) + k * frame for k in range(env.amp.steps)])
        acc = probe(clip_x[:, cols], policy_x[:, cols], hidden, args.iters // 2)
        groups[name] = [round(v, 3) for v in acc]
        print(f"  {name:>12} alone ({len(cols):3d} numbers): {acc[0]:.3f} / {acc[1]:.3f}")
    result["groups"] = groups
    for sigma in [float(v) for v in args.noise.split(",") if v]:
        acc = probe(clip_x, policy_x, hidden, args.iters, noise=sigma)
        result[f"probe_acc_noise_{sigma:g}"] = [round(v, 3) for v in acc]
        print(f"instance noise {sigma:g}: accuracy {acc[0]:.3f} / {acc[1]:.3f} on noisy inputs, "
              f"{acc[2]:.3f} / {acc[3]:.3f} on clean ones")
    for spec in [v for v in args.vdb.split(",") if v]:
        dim, _, info = spec.partition(":")
        out = probe_vdb(clip_x, policy_x, hidden, args.iters, int(dim), float(info or 0.5), args.vdb_beta_lr)
        result[f"probe_vdb_{spec}"] = {k: [round(x, 3) for x in v] if isinstance(v, tuple) else round(v, 4)
                                       for k, v in out.items()}
        print(f"bottleneck {dim} numbers, bound {float(info or 0.5):g} nats: accuracy {out['sampled'][0]:.3f} / "
              f"{out['sampled'][1]:.3f} with sampled codes, {out['mean_code'][0]:.3f} / {out['mean_code'][1]:.3f} "
              f"with mean codes; KL {out['kl']:.2f}, beta {out['beta']:.3g}, logit gap {out['logit_gap']:.2f}")
    disc_logits = discriminator_of(agent)
    if disc_logits is not None:
        le, la = disc_logits(clip_x), disc_logits(policy_x)
        own = float((le > 0).float().mean()), float((la < 0).float().mean())
        result["run_disc_acc"] = [round(v, 3) for v in own]
        result["run_disc_logits"] = [round(float(le.mean()), 3), round(float(la.mean()), 3)]
        print(f"the run's discriminator: accuracy {own[0]:.3f} / {own[1]:.3f}, mean logits "
              f"{float(le.mean()):+.2f} / {float(la.mean()):+.2f}")
    result["seconds"] = round(time.time() - start, 1)
    print(f"{result['seconds']:.0f} s")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
