"""Which source joint drives which character body: name presets, ``auto``, and YAML maps.

A map pairs character bodies with BVH joints (``left_knee: LeftLeg``). Source joints that no body
names (toes, fingers, extra spine joints, clavicles) are folded into their parent: they move with
it and carry no rotation of their own. Names match without case and without a namespace prefix
(``mixamorig:LeftArm``, ``mixamorig1:LeftArm`` and ``leftarm`` are all ``LeftArm``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from mimic.character.model import CharacterModel
from mimic.errors import MimicError, input_error
from mimic.motion.formats.bvh import BvhSkeleton


def _biped(root: str, chest: str, neck: str, up_leg: str, leg: str, foot: str, arm: str, fore_arm: str,
           hand: str) -> dict[str, str]:
    out = {"root": root, "chest": chest, "neck": neck}
    for side, prefix in (("right", "Right"), ("left", "Left")):
        out.update({f"{side}_hip": prefix + up_leg, f"{side}_knee": prefix + leg, f"{side}_ankle": prefix + foot,
                    f"{side}_shoulder": prefix + arm, f"{side}_elbow": prefix + fore_arm,
                    f"{side}_wrist": prefix + hand})
    return out


# Character body -> source joint. The chest is the spine joint about as high above the hips as
# DeepMimic's chest (24 cm): the spine joints below it fold into the pelvis, those above into the chest.
# ``mimic`` is the character's own skeleton (what Mimic's BVH export writes): every body by its name.
PRESETS: dict[str, dict[str, str]] = {
    "mimic": {},
    # Mixamo: Hips, Spine, Spine1, Spine2, Neck, Head, {Left,Right}{Shoulder,Arm,ForeArm,Hand,UpLeg,Leg,Foot,ToeBase}
    "mixamo": _biped("Hips", "Spine1", "Neck", "UpLeg", "Leg", "Foot", "Arm", "ForeArm", "Hand"),
    # Ubisoft LAFAN1: as Mixamo, with LeftToe for LeftToeBase
    "lafan": _biped("Hips", "Spine1", "Neck", "UpLeg", "Leg", "Foot", "Arm", "ForeArm", "Hand"),
    # CMU mocap BVH conversions: Hips, LHipJoint, LowerBack, Spine, Spine1, Neck, Neck1, Head, LeftShoulder ...
    "cmu": _biped("Hips", "Spine1", "Neck", "UpLeg", "Leg", "Foot", "Arm", "ForeArm", "Hand"),
}
# Joints only one preset's skeleton has: they tell the presets apart in ``auto``.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "mimic": ("root", "chest", "left_knee"),
    "mixamo": ("LeftToeBase", "Spine2", "LeftHandIndex1"),
    "lafan": ("LeftToe", "Spine2"),
    "cmu": ("LHipJoint", "LowerBack", "Neck1", "LeftFingerBase"),
}
MAP_CHOICES = ("auto", *PRESETS)


@dataclass
class JointMap:
    """A resolved map.

    Attributes:
        name: the preset's name or the YAML file.
        joints: character body index -> source joint index.
        folded: source joints no body names, folded into their parents.
        note: one line on how the map was chosen, for the import report.
    """

    name: str
    joints: dict[int, int]
    folded: list[str]
    note: str


def normalize_name(name: str) -> str:
    """A joint name for matching: no namespace (``mixamorig:``, ``Character1:``), lower case."""
    name = name.rsplit(":", 1)[-1]
    name = re.sub(r"^mixamorig\d*_?", "", name, flags=re.IGNORECASE)
    return name.lower()


def resolve_map(spec: str, skeleton: BvhSkeleton, model: CharacterModel, source: str | Path,
                required: tuple[str, ...]) -> JointMap:
    """The map named by ``spec``: a preset name, ``auto``, or a YAML file (body: joint).

    ``required`` lists the character bodies a map must name. Raises :class:`MimicError` naming the
    BVH or map file for a missing or unknown joint, or a map that does not follow the skeleton's tree.
    """
    if spec == "auto":
        name, found, note = _guess_preset(skeleton, model, source)
        return _checked(name, found, skeleton, model, source, required, note=note)
    if spec in PRESETS:
        return _checked(spec, _match_preset(spec, skeleton, model, source), skeleton, model, source, required,
                        note=f"map: {spec}")
    path = Path(spec)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise MimicError(f"--map {spec}: expected a preset ({', '.join(MAP_CHOICES)}) or a .yaml map file")
    return _checked(str(path), _read_yaml_map(path, skeleton, model, source), skeleton, model, path, required,
                    note=f"map: {path}")


def preset_joints(preset: str, model: CharacterModel) -> dict[str, str]:
    """Character body -> source joint name of ``preset``, for the bodies ``model`` has."""
    if preset == "mimic":
        return {b: b for b in model.body_names}
    return {b: j for b, j in PRESETS[preset].items() if b in model.body_names}


def _lookup(skeleton: BvhSkeleton) -> dict[str, list[int]]:
    table: dict[str, list[int]] = {}
    for j, name in enumerate(skeleton.names):
        table.setdefault(normalize_name(name), []).append(j)
    return table


def _match_preset(preset: str, skeleton: BvhSkeleton, model: CharacterModel,
                  source: str | Path) -> dict[str, int]:
    table = _lookup(skeleton)
    joints = preset_joints(preset, model)
    if not joints:
        raise MimicError(f"--map {preset}: the preset names DeepMimic's humanoid bodies; character {model.name!r} "
                         f"has {', '.join(model.body_names)}: use a YAML map")
    found: dict[str, int] = {}
    missing = []
    for body, name in joints.items():
        hits = table.get(normalize_name(name), [])
        if len(hits) > 1:
            raise input_error(source, f"joint name {name!r} matches several joints "
                              f"({', '.join(skeleton.names[j] for j in hits)}); use a YAML map", "HIERARCHY")
        if hits:
            found[body] = hits[0]
        else:
            missing.append(name)
    if missing:
        raise input_error(source, f"--map {preset} needs joints this file does not have: {', '.join(missing)} "
                          f"(its joints: {', '.join(skeleton.names)}); try --map auto or a YAML map", "HIERARCHY")
    return found


def _guess_preset(skeleton: BvhSkeleton, model: CharacterModel,
                  source: str | Path) -> tuple[str, dict[str, int], str]:
    table = _lookup(skeleton)
    scores = []
    for preset in PRESETS:
        wanted = list(preset_joints(preset, model).values())
        have = sum(normalize_name(j) in table for j in wanted)
        signature = sum(normalize_name(j) in table for j in SIGNATURES[preset])
        scores.append((have == len(wanted) and have > 0, signature, have, preset, len(wanted)))
    complete, signature, have, preset, wanted = max(scores)
    if not complete:
        raise input_error(source, f"--map auto: no preset fits these joints (closest: {preset!r}, {have} of "
                          f"{wanted} joints found; its joints: {', '.join(skeleton.names)}); write a YAML map "
                          "(character body: source joint)", "HIERARCHY")
    note = f"map: {preset} (auto: all {wanted} joints found, {signature} of its own joint names)"
    return preset, _match_preset(preset, skeleton, model, source), note


def _read_yaml_map(path: Path, skeleton: BvhSkeleton, model: CharacterModel, source: str | Path) -> dict[str, int]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise MimicError(f"{path}: map file not found") from None
    except (OSError, yaml.YAMLError) as exc:
        raise input_error(path, f"not a readable YAML map: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise input_error(path, "expected a mapping 'character body: source joint', one per line")
    table = _lookup(skeleton)
    exact = {name: j for j, name in enumerate(skeleton.names)}
    found: dict[str, int] = {}
    for body, joint in data.items():
        if str(body) not in model.body_names:
            raise input_error(path, f"not a body of character {model.name!r} (bodies: {', '.join(model.body_names)})",
                              str(body))
        if not isinstance(joint, str) or not joint:
            raise input_error(path, f"expected a joint name, got {joint!r}", str(body))
        if joint in exact:
            found[str(body)] = exact[joint]
        elif len(table.get(normalize_name(joint), [])) == 1:
            found[str(body)] = table[normalize_name(joint)][0]
        else:
            raise input_error(path, f"no joint {joint!r} in {source} (its joints: {', '.join(skeleton.names)})",
                              str(body))
    return found


def _checked(name: str, found: dict[str, int], skeleton: BvhSkeleton, model: CharacterModel,
             where: str | Path, required: tuple[str, ...], note: str) -> JointMap:
    """Check the map against both trees; ``where`` is the file errors name (the BVH or the YAML map)."""
    joints = {model.body_index(b): j for b, j in found.items()}
    missing = [b for b in required if model.body_index(b) not in joints]
    if missing:
        raise input_error(where, f"the map must name the bodies {', '.join(missing)} (it aligns the skeletons by "
                          f"the pelvis, hips and feet)", "map")
    used: dict[int, int] = {}
    for body, joint in sorted(joints.items()):  # parents before children: the first wrong entry is named
        if joint in used:
            raise input_error(where, f"joint {skeleton.names[joint]!r} is given to both "
                              f"{model.body_names[used[joint]]!r} and {model.body_names[body]!r}", "map")
        used[joint] = body
        ancestor = int(model.parent_indices[body])
        while ancestor >= 0 and ancestor not in joints:
            ancestor = int(model.parent_indices[ancestor])
        if ancestor >= 0 and not _is_below(skeleton, joint, joints[ancestor]):
            above = skeleton.names[joints[ancestor]]
            raise input_error(where, f"joint {skeleton.names[joint]!r} is not below {above!r} (the joint of "
                              f"{model.body_names[ancestor]!r}) in the BVH hierarchy", model.body_names[body])
    folded = [n for j, n in enumerate(skeleton.names) if j not in used]
    return JointMap(name=name, joints=joints, folded=folded, note=note)


def _is_below(skeleton: BvhSkeleton, joint: int, ancestor: int) -> bool:
    joint = int(skeleton.parents[joint])
    while joint >= 0:
        if joint == ancestor:
            return True
        joint = int(skeleton.parents[joint])
    return False
