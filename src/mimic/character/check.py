"""``mimic check-character``: is a model (MJCF, or URDF through MuJoCo's compiler) usable as a character?

Checks what the engine and the tasks rely on: one body tree under the world with a free-floating root,
one ball or hinge joint per body placed at the body's origin, positive masses and inertias, PD gains
(joint ``stiffness``/``damping``) and torque limits (motors' ``ctrlrange``), a flat ground of planes, and
collision geoms the engine's contact code handles (spheres, capsules, boxes). It reports what it found,
every problem with what to change, and a starting ``character.yaml`` guessed from the tree (the leaf
bodies as feet, hands and end effectors) for the user to edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from mimic.character.model import CharacterModel, JointType, character_from_mjmodel
from mimic.errors import MimicError


@dataclass
class CheckReport:
    """What :func:`check_model` found: ``facts`` (label -> text), ``problems`` (each with its fix),
    ``warnings`` (usable, but worth a look) and ``spec`` (a starting ``character.yaml``, empty when the
    model could not be read)."""

    path: Path
    facts: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    spec: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        """The report as printed by the command."""
        lines = [f"{self.path}:"]
        lines += [f"  {k:<14} {v}" for k, v in self.facts.items()]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  warning: {w}" for w in self.warnings]
        if self.spec:
            lines += ["", "A starting character.yaml (put the model and this file in one folder; check the guessed "
                      "contact bodies, end effectors and key bodies):", "", self.spec]
        return "\n".join(lines)


def check_model(path: str | Path) -> CheckReport:
    """Check the model at ``path`` (``.xml`` MJCF or ``.urdf``); never raises for a bad model, reports it."""
    path = Path(path)
    report = CheckReport(path)
    if not path.is_file():
        raise MimicError(f"{path}: model file not found")
    try:
        mj = mujoco.MjModel.from_xml_path(str(path))
    except Exception as exc:  # mujoco raises ValueError with the parser's message
        report.problems.append(f"MuJoCo cannot compile it: {str(exc).strip()}")
        return report
    try:
        model = character_from_mjmodel(mj, path)
    except MimicError as exc:
        problem = str(exc).removeprefix(f"{path}: ")
        if path.suffix.lower() == ".urdf" and ("one character tree" in problem or "the root must" in problem):
            problem += (" (MuJoCo fuses a URDF's base link into the world, so its first joints become roots: write "
                        "the model as MJCF and give the base link a body with a <freejoint/>)")
        report.problems.append(problem)
        return report
    _facts(model, mj, report)
    _check_root(model, path, report)
    _check_mass(model, mj, report)
    _check_control(model, report)
    _check_geoms(mj, report)
    report.spec = starting_spec(model, path)
    return report


def _facts(model: CharacterModel, mj: mujoco.MjModel, report: CheckReport) -> None:
    kinds = [t for t in model.joint_types[1:]]
    report.facts.update({
        "bodies": str(model.num_bodies),
        "joints": f"{kinds.count(JointType.BALL)} ball, {kinds.count(JointType.HINGE)} hinge, "
                  f"{kinds.count(JointType.FIXED)} fixed",
        "dofs": str(model.num_dofs),
        "mass": f"{model.total_mass:.3f} kg",
        "root": f"{model.body_names[0]} ({'free' if model.has_free_root else 'not free'})",
        "leaves": ", ".join(_leaves(model)),
    })


def _check_root(model: CharacterModel, path: Path, report: CheckReport) -> None:
    if model.has_free_root:
        return
    how = ("MuJoCo fixes a URDF's base link to the world; write the model as MJCF (load it in MuJoCo and save "
           "it) and put a <freejoint/> in the root body" if path.suffix.lower() == ".urdf"
           else "put a <freejoint/> in the root body")
    report.problems.append(f"the root body {model.body_names[0]!r} is not free-floating: {how}")


def _check_mass(model: CharacterModel, mj: mujoco.MjModel, report: CheckReport) -> None:
    light = [model.body_names[i] for i in range(model.num_bodies) if not model.body_masses[i] > 0]
    if light:
        report.problems.append(f"bodies without mass: {light}; give their geoms a mass or density, or the body an "
                               "<inertial>")
    flat = [model.body_names[i] for i in range(model.num_bodies)
            if model.body_masses[i] > 0 and not np.all(mj.body_inertia[i + 1] > 0)]
    if flat:
        report.problems.append(f"bodies with a zero principal inertia: {flat}; give them a full <inertial>")


def _check_control(model: CharacterModel, report: CheckReport) -> None:
    no_gain = [model.body_names[b] for b in range(1, model.num_bodies)
               if model.dof_offsets[b] >= 0 and not model.dof_kp[model.dof_offsets[b]] > 0]
    if no_gain:
        report.problems.append(f"joints without PD gains: {no_gain}; set stiffness (Kp) and damping (Kd) on each "
                               "joint: Mimic's engine applies PD with them and zeroes the passive spring")
    no_limit = [model.body_names[b] for b in range(1, model.num_bodies)
                if model.dof_offsets[b] >= 0 and not np.isfinite(model.joint_torque_limit[b])]
    if no_limit:
        report.warnings.append(f"joints without a torque limit: {no_limit}; add a <motor joint=... ctrlrange=...> "
                               "per joint (unlimited torques make motions easy that a real body could not do)")


def _check_geoms(mj: mujoco.MjModel, report: CheckReport) -> None:
    world = [g for g in range(mj.ngeom) if mj.geom_bodyid[g] == 0]
    planes = [g for g in world if mj.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE]
    if not planes or len(planes) != len(world):
        report.problems.append("the world needs a flat ground made of planes only: add <geom type='plane' "
                               "size='0 0 1'/> to <worldbody> and remove other world geoms")
    supported = {int(mujoco.mjtGeom.mjGEOM_SPHERE), int(mujoco.mjtGeom.mjGEOM_CAPSULE), int(mujoco.mjtGeom.mjGEOM_BOX)}
    bad = sorted({mujoco.mj_id2name(mj, mujoco.mjtObj.mjOBJ_BODY, int(mj.geom_bodyid[g])) or f"body{mj.geom_bodyid[g]}"
                  for g in range(mj.ngeom) if mj.geom_bodyid[g] != 0 and (mj.geom_contype[g] or mj.geom_conaffinity[g])
                  and int(mj.geom_type[g]) not in supported})
    if bad:
        report.problems.append(f"collision geoms the engine cannot use (meshes, cylinders, ...) on {bad}: collide "
                               "with spheres, capsules or boxes and keep meshes for looks (contype=0 conaffinity=0)")


def _leaves(model: CharacterModel) -> list[str]:
    parents = set(int(p) for p in model.parent_indices[1:])
    return [model.body_names[b] for b in range(1, model.num_bodies) if b not in parents]


def starting_spec(model: CharacterModel, path: Path) -> str:
    """A ``character.yaml`` for ``model`` with guesses to edit: the leaf bodies may touch the ground and are the
    end effectors and key bodies."""
    leaves = _leaves(model)
    return "\n".join([
        f"name: {path.stem}",
        f"mjcf: {path.name}",
        "# bodies allowed to touch the ground (guess: the leaves); any other body touching it ends an episode",
        f"contact_bodies:\n  default: [{', '.join(leaves)}]",
        f"end_effectors: [{', '.join(leaves)}]",
        f"key_bodies: [{', '.join(leaves)}]",
        "# per-body reward weights (missing bodies weigh 1)",
        "deepmimic_joint_weights: {" + ", ".join(f"{b}: 1.0" for b in model.body_names) + "}",
        "episode_seconds: {default: 20.0}",
    ])
