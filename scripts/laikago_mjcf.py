"""Write the Laikago quadruped as MJCF: ``src/mimic/character/assets/laikago/laikago.xml``.

Reads ``laikago/laikago_toes_limits.urdf`` from the ``pybullet`` wheel's ``pybullet_data`` (the URDF
Peng et al. 2020 used; zlib licence, meshes by permission of Unitree) and writes an MJCF of our own from
its numbers: link frames, joint origins, axes and limits, masses, centres of mass and effort limits.
Nothing of the meshes is shipped: the script reads their vertex bounds to size primitive collision
shapes. The URDF gives every link a zero inertia tensor, which pybullet replaces by the inertia of the
link's collision shape; the script asks pybullet for those (the inertias pybullet simulates the robot
with). The header it writes lists the conventions and every deviation.

Run: ``python scripts/laikago_mjcf.py [--out FILE]`` (needs ``pip install pybullet``).
"""

from __future__ import annotations

import argparse
import math
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "mimic" / "character" / "assets" / "laikago" / "laikago.xml"
URDF = "laikago/laikago_toes_limits.urdf"
CLIP_URDF = "laikago/laikago.urdf"  # the model of pybullet's example that plays the clip (testLaikago.py)

# pybullet_envs/deep_mimic/env/testLaikago.py (the example that plays data/motions/laikago_walk.txt):
# URDF angle = jointDirections[j] * clip angle + jointOffsets[j], joints in the URDF's order.
CLIP_DIRECTIONS = (-1, 1, 1, 1, 1, 1, -1, 1, 1, 1, 1, 1)
CLIP_OFFSETS = (0.0, -0.7, 0.7) * 4

# (Kp, Kd) per motor of a leg (hip abduction, hip, knee): Peng et al. 2020, motion_imitation/robots/laikago.py
# (ABDUCTION_P_GAIN = HIP_P_GAIN = KNEE_P_GAIN = 220, HIP_D_GAIN = KNEE_D_GAIN = 2), but for the abduction's
# Kd, 2 instead of ABDUCTION_D_GAIN = 0.3 (see the header's deviations).
GAINS = ((220.0, 2.0), (220.0, 2.0), (220.0, 2.0))

# pybullet's base frame is the base link's inertial frame (its centre of mass), and the clip's root
# position is that frame's. In the URDF's chassis frame z is forward, y up and x left; this rotation
# (120 deg about (1, 1, 1)) stands the chassis up facing +x in Mimic's z-up world: its rest orientation.
ROOT_QUAT = (0.5, 0.5, 0.5, 0.5)
# Gap between the toes and the ground in the MJCF's rest pose (plain MuJoCo only; the engine sets its own).
REST_CLEARANCE = 0.005

MATERIALS = {"FR": "right", "RR": "right", "FL": "left", "RL": "left"}  # the chassis: "body"


@dataclass
class Link:
    name: str
    mass: float
    com: np.ndarray  # centre of mass in the link frame
    mesh: str = ""  # collision mesh file
    mesh_xyz: np.ndarray = field(default_factory=lambda: np.zeros(3))
    mesh_rpy: np.ndarray = field(default_factory=lambda: np.zeros(3))
    sphere: float = 0.0  # collision sphere radius


@dataclass
class Joint:
    name: str
    kind: str
    parent: str
    child: str
    xyz: np.ndarray
    axis: np.ndarray
    lower: float = -math.inf
    upper: float = math.inf
    effort: float = math.inf


def fmt(x: float) -> str:
    """A number as MJCF text: at most 9 decimals (the URDF's numbers exactly), no trailing zeros, no ``-0``."""
    text = f"{x:.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fmt_sig(x: float) -> str:
    """An inertia as MJCF text: 6 significant digits."""
    return f"{x:.6g}"


def vec(v) -> str:
    return " ".join(fmt(float(x)) for x in v)


def size(x) -> np.ndarray:
    """A shape size or position derived from mesh bounds, to 0.1 mm."""
    return np.round(np.asarray(x, dtype=np.float64), 4) + 0.0


def floats(text: str | None, n: int = 3) -> np.ndarray:
    return np.array([float(x) for x in text.split()]) if text else np.zeros(n)


def rpy_matrix(rpy: np.ndarray) -> np.ndarray:
    """URDF rpy: fixed-axis x, then y, then z (R = Rz Ry Rx)."""
    r, p, y = rpy
    rx = np.array([[1, 0, 0], [0, math.cos(r), -math.sin(r)], [0, math.sin(r), math.cos(r)]])
    ry = np.array([[math.cos(p), 0, math.sin(p)], [0, 1, 0], [-math.sin(p), 0, math.cos(p)]])
    rz = np.array([[math.cos(y), -math.sin(y), 0], [math.sin(y), math.cos(y), 0], [0, 0, 1]])
    return rz @ ry @ rx


def read_urdf(path: Path) -> tuple[dict[str, Link], list[Joint]]:
    """Links and joints (in file order) of a URDF."""
    robot = ET.parse(path).getroot()
    links = {}
    for el in robot.findall("link"):
        inertial = el.find("inertial")
        origin = inertial.find("origin")
        if origin is not None and np.abs(floats(origin.get("rpy"))).max() > 0:
            raise SystemExit(f"{el.get('name')}: rotated inertial frames are not supported")
        link = Link(el.get("name"), float(inertial.find("mass").get("value")),
                    floats(origin.get("xyz")) if origin is not None else np.zeros(3))
        coll = el.find("collision")
        if coll is not None:
            c_origin = coll.find("origin")
            if c_origin is not None:
                link.mesh_xyz, link.mesh_rpy = floats(c_origin.get("xyz")), floats(c_origin.get("rpy"))
            mesh, sphere = coll.find("geometry/mesh"), coll.find("geometry/sphere")
            if mesh is not None:
                if floats(mesh.get("scale"), 3).tolist() not in ([1, 1, 1], [0, 0, 0]):
                    raise SystemExit(f"{link.name}: scaled meshes are not supported")
                link.mesh = mesh.get("filename")
            elif sphere is not None:
                link.sphere = float(sphere.get("radius"))
        links[link.name] = link
    joints = []
    for el in robot.findall("joint"):
        origin = el.find("origin")
        if origin is not None and np.abs(floats(origin.get("rpy"))).max() > 0:
            raise SystemExit(f"{el.get('name')}: rotated joint frames are not supported")
        joint = Joint(el.get("name"), el.get("type"), el.find("parent").get("link"), el.find("child").get("link"),
                      floats(origin.get("xyz")) if origin is not None else np.zeros(3),
                      floats(el.find("axis").get("xyz")) if el.find("axis") is not None else np.array([1.0, 0, 0]))
        limit = el.find("limit")
        if limit is not None:
            joint.effort = float(limit.get("effort", "inf"))
            if joint.kind == "revolute":
                joint.lower, joint.upper = float(limit.get("lower")), float(limit.get("upper"))
        joints.append(joint)
    return links, joints


def mesh_vertices(path: Path) -> np.ndarray:
    """(V, 3) vertices of a Wavefront .obj or an STL (binary or ASCII) file."""
    data = path.read_bytes()
    if path.suffix.lower() == ".obj":
        rows = [line.split()[1:4] for line in data.decode(errors="replace").splitlines() if line.startswith("v ")]
        return np.array(rows, dtype=np.float64)
    if data[:5] == b"solid" and b"facet" in data[:512]:
        rows = [line.split()[1:4] for line in data.decode().splitlines() if line.strip().startswith("vertex")]
        return np.array(rows, dtype=np.float64)
    count = struct.unpack("<I", data[80:84])[0]
    tri = np.dtype([("normal", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")])
    return np.frombuffer(data[84:84 + tri.itemsize * count], dtype=tri)["v"].reshape(-1, 3).astype(np.float64)


def link_vertices(link: Link, folder: Path) -> np.ndarray:
    """The link's collision mesh vertices in the link frame."""
    v = mesh_vertices(folder / link.mesh)
    return v @ rpy_matrix(link.mesh_rpy).T + link.mesh_xyz


def bullet_inertias(urdf: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Link -> (centre of mass, principal inertia) as pybullet simulates the URDF (its default flags)."""
    import pybullet

    client = pybullet.connect(pybullet.DIRECT)
    try:
        body = pybullet.loadURDF(str(urdf), physicsClientId=client)
        out = {}
        base = pybullet.getBodyInfo(body, physicsClientId=client)[0].decode()
        for link in range(-1, pybullet.getNumJoints(body, physicsClientId=client)):
            name = base if link < 0 else pybullet.getJointInfo(body, link, physicsClientId=client)[12].decode()
            info = pybullet.getDynamicsInfo(body, link, physicsClientId=client)
            if np.abs(np.array(info[4]) - [0, 0, 0, 1]).max() > 1e-9:
                raise SystemExit(f"{name}: pybullet rotated the inertial frame; not supported")
            out[name] = (np.array(info[3]), np.array(info[2]))
        return out
    finally:
        pybullet.disconnect(client)


def axis_angle_text(axis: np.ndarray, angle: float) -> str:
    return f"{vec(axis)} {fmt(angle)}"


class Writer:
    """Builds the MJCF body tree from the URDF (see the header for the conventions)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.links, self.joints = read_urdf(folder.parent / URDF)
        clip_links, clip_joints = read_urdf(folder.parent / CLIP_URDF)
        self._check_same_as_clip_model(clip_links, clip_joints)
        self.inertia = bullet_inertias(folder.parent / URDF)
        self.root = next(n for n in self.links if all(j.child != n for j in self.joints))
        self.root_com = self.links[self.root].com
        revolute = [j for j in self.joints if j.kind in ("revolute", "continuous")]
        if len(revolute) != len(CLIP_DIRECTIONS):
            raise SystemExit(f"expected {len(CLIP_DIRECTIONS)} revolute joints, found {len(revolute)}")
        self.clip_map = {j.name: (d, o) for j, d, o in zip(revolute, CLIP_DIRECTIONS, CLIP_OFFSETS, strict=True)}
        self.gains = {j.name: GAINS[k % 3] for k, j in enumerate(revolute)}
        self.motors: list[str] = []

    def _check_same_as_clip_model(self, links: dict[str, Link], joints: list[Joint]) -> None:
        """The clip's URDF must be ours without the toes (same frames, joints and masses)."""
        ours = {j.name: j for j in self.joints}
        for j in joints:
            o = ours[j.name]
            if (o.parent, o.child) != (j.parent, j.child) or not np.allclose(o.xyz, j.xyz) or not np.allclose(
                    o.axis, j.axis):
                raise SystemExit(f"{j.name}: differs between {URDF} and {CLIP_URDF}")
        for name, link in links.items():
            if self.links[name].mass != link.mass or not np.allclose(self.links[name].com, link.com):
                raise SystemExit(f"{name}: mass or centre of mass differs between {URDF} and {CLIP_URDF}")

    @staticmethod
    def material(link: str) -> str:
        leg = link[-2:] if link.startswith("toe") else link[:2]
        return MATERIALS.get(leg, "body")

    def origin(self, link: str) -> np.ndarray:
        """Where the link's MJCF frame origin sits in the URDF link frame (the root's: its centre of mass)."""
        return self.root_com if link == self.root else np.zeros(3)

    def geom(self, link: Link, child_joints: list[Joint]) -> str:
        """A primitive collision shape for the link, in its MJCF frame."""
        shift = self.origin(link.name)
        attrs = f'name="{link.name}"'
        if link.sphere > 0:
            return f'<geom {attrs} type="sphere" size="{fmt(link.sphere)}"/>'
        v = link_vertices(link, self.folder)
        lo, hi = v.min(axis=0), v.max(axis=0)
        if link.name == self.root or "hip_motor" in link.name:
            # the chassis and the hip motors: their meshes' bounding boxes
            half, centre = size((hi - lo) / 2), size((hi + lo) / 2 - shift)
            return f'<geom {attrs} type="box" size="{vec(half)}" pos="{vec(centre)}"/>'
        # a leg: a capsule from its joint toward its child's: to the knee, or (the lower leg) to where the
        # toe's sphere begins, so that only the toe can touch the ground unless the toe sinks over 4 cm in;
        # radius: half the mesh's width along the hinge axis, across the leg
        (child,) = child_joints
        end = child.xyz
        if child.kind == "fixed" and self.links[child.child].sphere > 0:
            end = size(end * (1 - self.links[child.child].sphere / np.linalg.norm(end)))
        axis = np.abs(np.array(next(j.axis for j in self.joints if j.child == link.name)))
        radius = size(((hi - lo) * axis).sum() / 2)
        return f'<geom {attrs} type="capsule" size="{fmt(radius)}" fromto="0 0 0 {vec(end)}"/>'

    def body(self, name: str, depth: int, lines: list[str]) -> None:
        pad = "  " * depth
        link = self.links[name]
        parent_joint = next((j for j in self.joints if j.child == name), None)
        children = [j for j in self.joints if j.parent == name]
        material = self.material(name)
        if parent_joint is None:
            lines.append(f'{pad}<body name="{name}" pos="0 0 {{root_height}}" quat="{vec(ROOT_QUAT)}">')
            lines.append(f'{pad}  <freejoint name="{name}"/>')
            lines.append(f'{pad}  {self.camera()}')
        else:
            pos = parent_joint.xyz - self.origin(parent_joint.parent)
            if parent_joint.kind == "fixed":
                lines.append(f'{pad}<body name="{name}" pos="{vec(pos)}">')
            else:
                direction, offset = self.clip_map[parent_joint.name]
                turn = f' axisangle="{axis_angle_text(parent_joint.axis, offset)}"' if offset else ""
                lines.append(f'{pad}<body name="{name}" pos="{vec(pos)}"{turn}>')
                kp, kd = self.gains[parent_joint.name]
                # URDF angle = direction * clip angle + offset, so the clip's range is (URDF range - offset) * direction
                ends = ((parent_joint.lower - offset) * direction, (parent_joint.upper - offset) * direction)
                lo, hi = min(ends), max(ends)
                lines.append(f'{pad}  <joint name="{parent_joint.name}" axis="{vec(direction * parent_joint.axis)}" '
                             f'range="{fmt(lo)} {fmt(hi)}"')
                lines.append(f'{pad}         stiffness="{fmt(kp)}" damping="{fmt(kd)}"/>')
                limit = fmt(parent_joint.effort)
                self.motors.append(f'<motor name="{parent_joint.name}" joint="{parent_joint.name}" '
                                   f'ctrlrange="-{limit} {limit}"/>')
        com, inertia = self.inertia[name]
        if not np.allclose(com, link.com, atol=1e-9):
            raise SystemExit(f"{name}: pybullet's centre of mass {com} differs from the URDF's {link.com}")
        lines.append(f'{pad}  <inertial pos="{vec(link.com - self.origin(name))}" mass="{fmt(link.mass)}" '
                     f'diaginertia="{" ".join(fmt_sig(x) for x in inertia)}"/>')
        geom = self.geom(link, children)
        if material != "body":
            geom = geom.replace("/>", f' material="{material}"/>')
        text = f"{pad}  {geom}"
        if len(text) > 118:  # wrap long geoms as the other characters' MJCFs do
            key = " material=" if " material=" in text else " pos="
            head, tail = text.rsplit(key, 1)
            text = f"{head}\n{pad}       {key}{tail}"
        lines.append(text)
        for k, child in enumerate(children):
            if depth == 2 and k:
                lines.append("")
            self.body(child.child, depth + 1, lines)
        lines.append(f"{pad}</body>")

    def camera(self) -> str:
        """The tracking camera of the other characters, written in the chassis frame."""
        to_body = quat_matrix(ROOT_QUAT).T
        pos = to_body @ np.array([0.3, -2.0, 0.25])
        x_axis, y_axis = to_body @ np.array([1.0, 0, 0]), to_body @ np.array([0, 0.1, 1.0])
        return f'<camera name="track" mode="trackcom" pos="{vec(pos)}" xyaxes="{vec(x_axis)} {vec(y_axis)}"/>'

    def write(self) -> str:
        lines: list[str] = []
        self.body(self.root, 2, lines)
        tree = "\n".join(lines)
        text = TEMPLATE.replace("{bodies}", tree).replace("{motors}", "\n".join(f"    {m}" for m in self.motors))
        return HEADER + text


def quat_matrix(q: tuple[float, float, float, float]) -> np.ndarray:
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def rest_height(xml: str) -> float:
    """Root height at which the lowest geom of the rest pose sits REST_CLEARANCE above the ground."""
    import mujoco

    model = mujoco.MjModel.from_xml_string(xml.replace("{root_height}", "0"))
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    lowest = math.inf
    for g in range(model.ngeom):
        if model.geom_bodyid[g] == 0:
            continue
        size, z_row = model.geom_size[g], data.geom_xmat[g].reshape(3, 3)[2]
        kind = model.geom_type[g]
        if kind == mujoco.mjtGeom.mjGEOM_SPHERE:
            bottom = data.geom_xpos[g, 2] - size[0]
        elif kind == mujoco.mjtGeom.mjGEOM_CAPSULE:
            bottom = data.geom_xpos[g, 2] - abs(z_row[2]) * size[1] - size[0]
        else:
            bottom = data.geom_xpos[g, 2] - (np.abs(z_row) * size).sum()
        lowest = min(lowest, bottom)
    return round(REST_CLEARANCE - lowest, 4)


HEADER = """<!--
  The Laikago quadruped (Unitree), written for MuJoCo by the Mimic project from the numbers of
  pybullet's laikago/laikago_toes_limits.urdf (pybullet_data, zlib licence; URDF by Erwin Coumans,
  meshes derived from Unitree's CAD model and used by permission of Unitree): the URDF Peng et al.
  2020 ("Learning Agile Robotic Locomotion Skills by Imitating Animals", motion_imitation) used.
  Generated by scripts/laikago_mjcf.py; the task constants are in character.yaml. No mesh is
  shipped or referenced: the meshes may not be redistributed, so every shape below is a primitive.

  Conventions
  - World is z-up, metres, kg, radians, like the other characters. The walk clip
    (pybullet_data/data/motions/laikago_walk.txt) is in pybullet's z-up world too, with (x, y, z, w)
    quaternions; character.yaml says so (clip_format).
  - 17 bodies, named as the URDF's links: chassis (the free root), and per leg FR/FL/RR/RL
    (front/rear, right/left) X_hip_motor, X_upper_leg, X_lower_leg and the fixed toeX (a sphere
    at the foot; no joint). Joints and motors carry the URDF's joint names
    (X_hip_motor_2_chassis_joint: hip abduction; X_upper_leg_2_hip_motor_joint: hip flexion;
    X_lower_leg_2_upper_leg_joint: knee). MuJoCo's depth-first body order (FR, FL, RR, RL, each
    hip, upper leg, lower leg, toe) is the clip's joint order.
  - Body frames are the URDF's link frames: each body's origin sits at its joint (the URDF's joint
    origins have no rotation, so they are the body positions). In these frames z is forward, y up
    and x to the robot's left, as in the URDF; the chassis' rest orientation (quat 0.5 0.5 0.5 0.5,
    120 deg about (1, 1, 1)) stands the robot up facing +x. The chassis frame is kept, not turned to
    x-forward/z-up, so the clip's root rotations apply as they are (a turned frame would make the
    reader multiply every root quaternion and lose the exact round trip); Mimic's heading (the yaw
    of the root's x axis) then points to the robot's left, which only fixes the heading frame.
  - The chassis origin is its centre of mass, (0, 0.03, 0.043794) in the URDF's chassis frame:
    pybullet takes the base link's inertial frame as the base frame, so the clip's root positions
    are that point's (the hips' positions in the chassis are the URDF's less that point).
  - Hinge angles are the clip's, which are not the URDF's: pybullet's example that plays the clip
    (pybullet_envs/deep_mimic/env/testLaikago.py) sets URDF angle = direction * clip angle + offset,
    jointDirections [-1, 1, 1, 1, 1, 1, -1, 1, 1, 1, 1, 1], jointOffsets (0, -0.7, 0.7) per leg. Here
    the right hips turn about +z (the URDF's axis is -z, direction -1) and the upper legs and knees'
    bodies are turned by the offsets (axisangle -0.7 and 0.7 about x), so the clip's numbers are
    the hinge angles. Clip angle 0 (the rest pose) has the legs straight down, toes under the hips.
  - The clip's root positions need no offset: posed on this model, each frame's lowest point is a
    toe, 0.3 to 2.1 cm below the ground (the clip's own numbers, left as they are).
  - Joint ranges are laikago_toes_limits.urdf's, in clip angles: hip abduction -0.873..1.0472
    (left legs; right legs mirrored by the direction), hip 0.7 + (-1.3..3.4), knee -0.7 + (-2.164..0).
    They are enforced (Bullet enforces a URDF's revolute limits). The knee's range ends 0.7 rad short
    of straight, so the rest pose lies outside it: PD toward the rest pose presses the knees against
    their limits (MuJoCo's soft limits give way to about -0.35 standing).
  - PD gains live on the joints: `stiffness` = Kp and `damping` = Kd: Kp 220 and Kd 2 for every
    joint, from Peng et al.'s motion_imitation/robots/laikago.py (ABDUCTION_P_GAIN, HIP_P_GAIN,
    KNEE_P_GAIN = 220; HIP_D_GAIN, KNEE_D_GAIN = 2; ABDUCTION_D_GAIN = 0.3, see the deviations).
    pybullet's own Laikago class (pybullet_envs/minitaur/robots/laikago.py) uses motor_kp 100 and
    motor_kd 2, and testLaikago.py stable PD with kp 4000, kd 40 (not comparable: stable PD's gains
    act on the next step's state). Mimic's engine reads them, zeroes the passive spring and applies
    PD itself (in a plain MuJoCo viewer the springs pull toward the rest pose).
  - Torque limits are the motors' ctrlrange: the URDF's effort limit, 100 N m for every joint (Peng
    et al.'s code sets no torque limit; testLaikago.py's force slider defaults to 120).
  - Masses and centres of mass are the URDF's (25.567 kg in all with the toes). The URDF's inertia
    tensors are all zero, and pybullet (without URDF_USE_INERTIA_FROM_FILE, as pybullet's and Peng
    et al.'s examples load it) replaces them by the inertia of each link's collision shape about its
    centre of mass; the diaginertia values are those, read from pybullet (the z-up variant
    laikago_toes_zup.urdf writes hand-rounded values of the same size, e.g. 0.22 0.431 0.565 for the
    chassis' 0.2228 0.4351 0.5694). Inertial frames are not rotated.
  - Character geoms collide with the ground only (contype 1, conaffinity 0); friction 1, the
    URDF's lateral_friction.

  Deviations from the URDF, and why
  - Primitive shapes instead of meshes (not redistributable; the engine's ground contact handles
    only spheres, capsules and boxes): the chassis and the hip motors are their collision meshes'
    bounding boxes; the upper legs are capsules from the hip to the knee, the lower legs from the
    knee to where the toe's sphere begins, both as thick as the mesh is wide along the hinge axis;
    the toes are the URDF's 0.03 m spheres (the lower leg mesh's rounded foot ends 4 mm above the
    sphere's bottom). So a lower leg touches the ground only when its toe is 4.5 cm in (leg
    upright): in the clip, whose toes sink up to 2.1 cm, only the toes touch.
  - Hip abduction Kd 2, not Peng et al.'s 0.3: with 0.3, uniformly random PD targets within the
    joint ranges (mimic.engine.bench.count_blowups, 16 envs x 60 steps) whip the legs past the
    engine's 100 rad/s sanity bound in 38 of 960 env-steps, at 120, 240 or 480 Hz alike (so it is
    the motion, not the integrator); with 2, in 0. Peng et al. also limited how far a target may move
    per step (MAX_MOTOR_ANGLE_CHANGE_PER_STEP 0.2), which Mimic's policies do not.
  - No self-collision (pybullet's examples enable it; Mimic's characters collide with the ground only).
  - The clip was made for laikago.urdf, which is this model without the four 0.1 kg toes and the
    limits (scripts/laikago_mjcf.py checks the shared frames, joints and masses are the same).
-->
"""

TEMPLATE = """<mujoco model="laikago">
  <compiler angle="radian" autolimits="true"/>
  <!-- Physics options: the humanoid's (Mimic's engine sets the timestep from its physics_hz and keeps
       the rest).
       - gravity 9.8, the other characters' (pybullet_robots/laikago/laikago.py uses 9.8,
         testLaikago.py 10).
       - implicitfast: the engine's PD damping is joint damping integrated implicitly.
       - The engine's default is 120 Hz (4 physics steps per 30 Hz control step), measured on the
         humanoid (benchmarks/engine_physics_rate.py). The timestep below (240 Hz) only matters when
         the file is loaded outside the engine.
       - Solver, cone and flags are MuJoCo's defaults. -->
  <option timestep="0.004166667" gravity="0 0 -9.8" integrator="implicitfast"/>
  <size memory="1M"/>

  <visual>
    <global offwidth="1280" offheight="720"/>
    <quality shadowsize="2048"/>
  </visual>

  <asset>
    <texture name="sky" type="skybox" builtin="gradient" rgb1="0.55 0.7 0.9" rgb2="0.1 0.15 0.25"
             width="256" height="256"/>
    <texture name="checker" type="2d" builtin="checker" rgb1="0.82 0.82 0.8" rgb2="0.62 0.62 0.6"
             width="512" height="512" mark="edge" markrgb="0.5 0.5 0.5"/>
    <material name="floor" texture="checker" texrepeat="1 1" texuniform="true" reflectance="0.05"/>
    <!-- chassis, left legs (dark), right legs (light) -->
    <material name="body" rgba="0.85 0.85 0.85 1"/>
    <material name="left" rgba="0.35 0.41 0.47 1"/>
    <material name="right" rgba="0.64 0.69 0.74 1"/>
  </asset>

  <default>
    <geom contype="1" conaffinity="0" condim="3" friction="1 0.005 0.0001" material="body"/>
    <joint type="hinge" limited="true" armature="0"/>
    <motor ctrllimited="true" gear="1"/>
  </default>

  <worldbody>
    <light name="sun" pos="0 0 6" dir="0 0 -1" directional="true" diffuse="0.7 0.7 0.7" castshadow="true"/>
    <geom name="floor" type="plane" size="0 0 0.05" contype="0" conaffinity="1" friction="0.9 0.005 0.0001"
          material="floor"/>

{bodies}
  </worldbody>

  <!-- One motor per hinge; ctrlrange = the URDF's effort limit (N m). -->
  <actuator>
{motors}
  </actuator>
</mujoco>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT, help="MJCF file to write")
    args = parser.parse_args()
    import pybullet_data

    folder = Path(pybullet_data.getDataPath()) / "laikago"
    text = Writer(folder).write()
    text = text.replace("{root_height}", fmt(rest_height(text)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    import mujoco  # checked after writing, so a broken file can be read

    model = mujoco.MjModel.from_xml_path(str(args.out))
    print(f"wrote {args.out}: {model.nbody - 1} bodies, {model.body_mass.sum():.4f} kg, {model.nu} motors")


if __name__ == "__main__":
    main()
