"""Run a policy exported by ``mimic export`` in plain MuJoCo: onnxruntime, NumPy and ``mujoco`` only.

No torch and no Mimic import: everything comes from the export's files, ``POLICY.onnx`` (the graph),
``POLICY.json`` (the contract: observation layout, action -> PD target map, rates, episode rules,
reward), ``POLICY.xml`` (the simulated model, with one PD servo per DoF) and ``POLICY.motion.npz``
(the reference clip's keyframes). One character, one ``MjData``, this file's own control loop:
reference state initialization at a random clip time, the observation computed from the MuJoCo
state, PD targets from the action, ``physics_hz / control_hz`` physics steps per action, DeepMimic's
reward, falls from ground contacts. It is also the sim-to-sim check against ``mimic eval``: it reports
DeepMimic's normalized return and the fall rate.

    mimic export walk walk.onnx && python examples/run_onnx.py walk.onnx --episodes 16 [--json]

Only the ``deepmimic`` observation and reward are implemented here (the ``fast`` and
``deepmimic_humanoid`` presets); quaternions are (w, x, y, z).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import mujoco
import numpy as np
import onnxruntime as ort


# ---------------------------------------------------------------------------------------------- quaternions
def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def qconj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    u, w = q[1:], q[0]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def qangle(q: np.ndarray) -> float:
    return 2.0 * math.atan2(float(np.linalg.norm(q[1:])), abs(float(q[0])))


def qexp_map(q: np.ndarray) -> np.ndarray:
    q = -q if q[0] < 0 else q
    s = float(np.linalg.norm(q[1:]))
    angle = 2.0 * math.atan2(s, float(q[0]))
    return q[1:] * ((2.0 + angle * angle / 12.0) if s < 1e-6 else angle / s)


def qslerp(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    cos = float(np.dot(q0, q1))
    if cos < 0:
        q1, cos = -q1, -cos
    if cos > 1 - 1e-6:
        q = q0 + t * (q1 - q0)
    else:
        theta = math.acos(min(cos, 1.0))
        q = (math.sin((1 - t) * theta) * q0 + math.sin(t * theta) * q1) / math.sin(theta)
    return q / np.linalg.norm(q)


def heading(q: np.ndarray) -> float:
    w, x, y, z = q
    return math.atan2(2 * (x * y + w * z), 1 - 2 * (y * y + z * z))


def rot_z(v: np.ndarray, angle: float) -> np.ndarray:
    """Rotate (..., 3) vectors by ``angle`` about z."""
    c, s = math.cos(angle), math.sin(angle)
    out = v.copy()
    out[..., 0], out[..., 1] = c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]
    return out


# ---------------------------------------------------------------------------------------------- reference
class Reference:
    """The clip's pose and velocities at any time, from its keyframes (lerp, slerp; velocities per segment)."""

    def __init__(self, data: np.lib.npyio.NpzFile, clip: dict, joints: list[dict]) -> None:
        name = clip["name"]
        self.arr = {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith(name + "/")}
        self.duration, self.loop = clip["duration_s"], clip["loop"] == "wrap"
        self.joints = joints

    def cycles(self, t: float) -> int:
        return int(math.floor(t / self.duration)) if self.loop else 0

    def phase(self, t: float) -> float:
        return (t % self.duration) / self.duration if self.loop else min(max(t / self.duration, 0.0), 1.0)

    def state(self, t: float) -> dict[str, np.ndarray]:
        a, cycles = self.arr, self.cycles(t)
        local = t - cycles * self.duration if self.loop else min(max(t, 0.0), self.duration)
        times = a["time"]
        k = int(np.clip(np.searchsorted(times, local, side="right") - 1, 0, len(times) - 2))
        blend = float(np.clip((local - times[k]) / (times[k + 1] - times[k]), 0.0, 1.0))
        jp0, jp1 = a["joint_pos"][k], a["joint_pos"][k + 1]
        joint_pos = jp0 + blend * (jp1 - jp0)  # hinge angles; ball quaternions are replaced below
        for j in self.joints:
            if j["type"] == "ball":
                s = j["qpos_start"] - 7
                joint_pos[s:s + 4] = qslerp(jp0[s:s + 4], jp1[s:s + 4], blend)
        root_pos = a["root_pos"][k] + blend * (a["root_pos"][k + 1] - a["root_pos"][k])
        return {
            "root_pos": root_pos + cycles * a["cycle_delta"],
            "root_rot": qslerp(a["root_rot"][k], a["root_rot"][k + 1], blend), "joint_pos": joint_pos,
            "root_vel": a["root_vel"][k], "root_ang_vel": a["root_ang_vel"][k], "dof_vel": a["dof_vel"][k],
            "com_vel": a["com_vel"][k],
        }


# ---------------------------------------------------------------------------------------------- the loop
class Runner:
    """One character driven by the exported policy, with the contract's rules."""

    def __init__(self, onnx_path: Path, seed: int) -> None:
        self.c = json.loads(onnx_path.with_suffix(".json").read_text())
        c = self.c
        if c["observation"]["kind"] != "deepmimic" or c["reward"]["kind"] != "deepmimic":
            raise SystemExit("run_onnx.py implements the deepmimic observation and reward only")
        self.session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        self.m = mujoco.MjModel.from_xml_path(str(onnx_path.with_suffix(".xml")))
        self.d, self.scratch = mujoco.MjData(self.m), mujoco.MjData(self.m)
        self.substeps = c["rates"]["physics_hz"] // c["rates"]["control_hz"]
        self.dt = 1.0 / c["rates"]["control_hz"]
        self.bodies = [mujoco.mj_name2id(self.m, mujoco.mjtObj.mjOBJ_BODY, b) for b in c["character"]["bodies"]]
        allowed = set(c["episode"]["contact_bodies"])
        self.fall_body = {bid: name not in allowed for bid, name in zip(self.bodies, c["character"]["bodies"],
                                                                               strict=True)}
        self.joints = c["joints"]
        self.ref = Reference(np.load(onnx_path.with_suffix(".motion.npz")), c["clips"][0], self.joints)
        self.hold = c["clips"][0]["end_hold_s"]
        self.scale = np.asarray(c["action"]["scale"])
        self.offset = None if c["action"]["mode"] == "residual" else np.asarray(c["action"]["offset"])
        r = c["reward"]
        self.weights, self.scales = r["weights"], r["scales"]
        self.best_reward = sum(w for w in self.weights.values() if w > 0) or 1.0
        self.jw = np.array([r["joint_weights"][j["name"]] for j in self.joints])
        self.dof_w = np.asarray(r["dof_weights"])
        self.ee = [self.bodies[c["character"]["bodies"].index(b)] for b in r["end_effectors"]]
        self.masses = self.m.body_subtreemass
        self.rng = np.random.default_rng(seed)

    # --- state ---
    def reset(self) -> None:
        t0 = self.rng.uniform(0.0, self.ref.duration) if self.c["reference"]["rand_reset"] else 0.0
        self.t, self.episode_t = t0, 0.0
        self.cycle = self.ref.cycles(t0)
        self.ref_offset = np.zeros(3)
        s = self.ref.state(t0)
        mujoco.mj_resetData(self.m, self.d)
        self.d.qpos[:] = np.concatenate((s["root_pos"], s["root_rot"], s["joint_pos"]))
        self.d.qvel[:] = np.concatenate((s["root_vel"], qrot(qconj(s["root_rot"]), s["root_ang_vel"]), s["dof_vel"]))
        mujoco.mj_forward(self.m, self.d)
        limit = self.c["episode"]["seconds"]
        seconds = limit if self.ref.loop else min(limit, self.ref.duration + self.hold - t0)
        self.possible_steps = max(1, math.ceil(seconds / self.dt - 1e-6))

    def dof_exp(self, joint_pos: np.ndarray) -> np.ndarray:
        out = np.zeros(len(self.scale))
        for j in self.joints:
            q, d = j["qpos_start"] - 7, j["dof_start"]
            out[d:d + 3] = qexp_map(joint_pos[q:q + 4]) if j["type"] == "ball" else joint_pos[q]
        return out

    def body_velocity(self, bid: int) -> tuple[np.ndarray, np.ndarray]:
        res = np.zeros(6)
        mujoco.mj_objectVelocity(self.m, self.d, mujoco.mjtObj.mjOBJ_XBODY, bid, res, 0)
        return res[3:], res[:3]  # linear, angular (world axes, at the body's origin)

    def observe(self) -> np.ndarray:
        d = self.d
        root_pos, root_rot = d.qpos[0:3].copy(), d.qpos[3:7].copy()
        h = heading(root_rot)
        h_inv = np.array([math.cos(h / 2), 0.0, 0.0, -math.sin(h / 2)])
        parts, vels = [np.array([self.ref.phase(self.t)]), root_pos[2:3]], []
        for i, bid in enumerate(self.bodies):
            pos, quat = d.xpos[bid], d.xquat[bid]
            lin, ang = self.body_velocity(bid)
            rel = rot_z(pos - root_pos, -h)
            rot = quat if i == 0 else qmul(h_inv, quat)  # the root keeps its world rotation and velocities
            rot = -rot if rot[0] < 0 else rot
            if i > 0:
                lin, ang = rot_z(lin, -h), rot_z(ang, -h)
            parts.append(np.concatenate((rel, rot)))
            vels.append(np.concatenate((lin, ang)))
        return np.concatenate(parts + vels).astype(np.float32)

    # --- one control step ---
    def step(self, action: np.ndarray) -> tuple[float, str | None]:
        nxt = self.ref.state(self.t + self.dt)
        offset = self.dof_exp(nxt["joint_pos"]) if self.offset is None else self.offset
        self.d.ctrl[:] = offset + self.scale * np.clip(action, -1.0, 1.0)
        for _ in range(self.substeps):
            mujoco.mj_step(self.m, self.d)
        mujoco.mj_forward(self.m, self.d)
        mujoco.mj_subtreeVel(self.m, self.d)
        self.t += self.dt
        self.episode_t += self.dt
        ref = self.ref.state(self.t)
        cycle = self.ref.cycles(self.t)
        if cycle != self.cycle:
            self.cycle = cycle
            if self.c["reference"]["sync_root_pos"]:
                self.ref_offset[:2] = self.d.qpos[0:2] - ref["root_pos"][:2]
        ref["root_pos"] = ref["root_pos"] + self.ref_offset
        fell = self.fell()
        reward = 0.0 if fell and self.c["reward"]["fail_zero"] else self.reward(ref)
        if fell and self.c["episode"]["early_termination"]:
            return reward, "fall"
        if not self.ref.loop and self.t >= self.ref.duration + self.hold - 1e-9:
            return reward, "success"
        if self.episode_t >= self.c["episode"]["seconds"] - 1e-9:
            return reward, "timeout"
        return reward, None

    def fell(self) -> bool:
        for i in range(self.d.ncon):
            con = self.d.contact[i]
            b1, b2 = self.m.geom_bodyid[con.geom1], self.m.geom_bodyid[con.geom2]
            other = b2 if b1 == 0 else b1 if b2 == 0 else None
            if other is not None and self.fall_body.get(other, False):
                return True
        return False

    def reward(self, ref: dict[str, np.ndarray]) -> float:
        d, rw = self.d, self.c["reward"]["root_weight"]
        root_pos, root_rot = d.qpos[0:3], d.qpos[3:7]
        root_angle = qangle(qmul(qconj(root_rot), ref["root_rot"]))
        angles = np.zeros(len(self.joints))
        for n, j in enumerate(self.joints):
            q = j["qpos_start"] - 7
            if j["type"] == "ball":
                angles[n] = qangle(qmul(qconj(d.qpos[7 + q:7 + q + 4]), ref["joint_pos"][q:q + 4]))
            else:
                diff = (d.qpos[7 + q] - ref["joint_pos"][q] + math.pi) % (2 * math.pi) - math.pi
                angles[n] = abs(diff)
        root_ang_vel = qrot(root_rot, d.qvel[3:6])
        # the reference's bodies: its pose (root offset applied) through MuJoCo's forward kinematics
        self.scratch.qpos[:] = np.concatenate((ref["root_pos"], ref["root_rot"], ref["joint_pos"]))
        mujoco.mj_kinematics(self.m, self.scratch)

        def ee_rel(data: mujoco.MjData, rpos: np.ndarray, rrot: np.ndarray) -> np.ndarray:
            p = data.xpos[self.ee]
            rel = rot_z(p - rpos, -heading(rrot))
            rel[:, 2] = p[:, 2]
            return rel

        errors = {
            "pose": rw * root_angle ** 2 + float(self.jw @ angles ** 2),
            "vel": rw * float(np.sum((root_ang_vel - ref["root_ang_vel"]) ** 2))
            + float(self.dof_w @ (d.qvel[6:] - ref["dof_vel"]) ** 2),
            "end_eff": float(np.sum((ee_rel(d, root_pos, root_rot) - ee_rel(self.scratch, ref["root_pos"],
                                                                             ref["root_rot"])) ** 2)),
            "root": float(np.sum((root_pos - ref["root_pos"]) ** 2)) + 0.1 * root_angle ** 2
            + 0.01 * float(np.sum((d.qvel[0:3] - ref["root_vel"]) ** 2))
            + 0.001 * float(np.sum((root_ang_vel - ref["root_ang_vel"]) ** 2)),
            "com": 0.1 * float(np.sum((d.subtree_linvel[self.bodies[0]] - ref["com_vel"]) ** 2)),
        }
        return sum(self.weights[k] * math.exp(-self.scales[k] * e) for k, e in errors.items() if self.weights[k])

    def episode(self) -> tuple[float, bool, float]:
        """(normalized return, fell, seconds) of one episode."""
        self.reset()
        ret, steps = 0.0, 0
        while True:
            (action,) = self.session.run(["action"], {"obs": self.observe()[None]})
            reward, end = self.step(action[0])
            ret += reward
            steps += 1
            if end is not None:
                return ret / (self.best_reward * self.possible_steps), end == "fall", steps * self.dt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("policy", type=Path, help="POLICY.onnx written by `mimic export` (with its .json, .xml, "
                                                  ".motion.npz beside it)")
    parser.add_argument("--episodes", type=int, default=16, help="test episodes (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the start times (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    args = parser.parse_args()
    runner = Runner(args.policy, args.seed)
    results = [runner.episode() for _ in range(args.episodes)]
    nr = sum(r[0] for r in results) / len(results)
    falls = sum(r[1] for r in results) / len(results)
    seconds = sum(r[2] for r in results) / len(results)
    print(f"{args.policy}: {len(results)} episodes in plain MuJoCo: normalized return {nr:.4f}, fall rate "
          f"{falls:.0%}, mean episode {seconds:.1f} s")
    if args.json:
        print(json.dumps({"normalized_return": round(nr, 4), "fall_rate": round(falls, 4),
                          "mean_episode_seconds": round(seconds, 3), "episodes": len(results)}))


if __name__ == "__main__":
    main()
