"""The deploy contract: everything a robot stack needs to run an exported policy, in one JSON document.

The contract is written by :func:`g1_mimic.rl.export.export_policy` from the live env's managers
(never from a hand-kept list) as ``exported/policy.json`` beside ``policy.onnx``, and the same
document is stored inside the ONNX file (``metadata_props``: one entry per top-level key, values
JSON-encoded). ``docs/deploy.md`` describes every field; in short (``J`` policy joints):

==========================  ===================================================================
key                         meaning
==========================  ===================================================================
format / format_version     ``"g1_mimic.deploy_contract"`` / :data:`CONTRACT_VERSION`
task                        the task id the policy was trained on
quaternion_order            ``"xyzw"`` (every quaternion in the contract and the runtime)
control_dt / physics_dt     policy period and physics step (s); ``decimation`` = their ratio
joint_names                 the policy's joint order (action order; J names)
sdk_joint_names             Unitree SDK motor order (29 names)
policy_to_sdk               ``[J]`` SDK index of each policy joint: ``sdk[policy_to_sdk[i]] = policy[i]``
action_dim / obs dim        ``action_dim`` = J, ``observation_dim`` = ONNX input width
joints                      per policy joint: ``default_pos`` (rad), ``default_vel``, ``stiffness``
                            (N m/rad), ``damping`` (N m s/rad), ``effort_limit`` (N m),
                            ``velocity_limit`` (rad/s), ``armature`` (kg m^2), ``pos_limits``,
                            ``soft_pos_limits`` (rad, ``[lo, hi]`` pairs)
robot                       ``root_body``, ``anchor_body``, ``root_com_offset_b`` (root body's
                            centre of mass in its link frame, m), ``tracked_bodies``
action                      ``scale`` [J], ``offset_kind`` (``default_joint_pos`` or
                            ``reference_joint_pos``), ``offset`` [J] or null, ``reference_lead_s``
                            (reference offsets: s ahead along the reference velocity; null: one
                            control step), ``clip`` (target
                            limits per joint or null), ``raw_clip`` (policy-output clip or null),
                            ``filter_alpha``, ``training_only`` (noise, delay)
observation                 ``group``, ``history_order`` and ``terms``: the ordered list of
                            named terms (see :data:`TERM_KINDS`) with dims, frames, scale, clip,
                            training-only noise, history length and joint/body order
reference                   which motion fields at which time offsets the policy reads, the anchor
                            body, interpolation and the tail after the clip
terminations                the env's failure conditions (thresholds, bodies) for deploy-side checks
onnx                        input/output tensor names and batch size
policy_graph                ``policy_graph.onnx``: its input/output schema, the baked clips (names,
                            lengths), the reference bodies and joints of its outputs
==========================  ===================================================================

This module is numpy-free pure Python (onnxruntime imported only to open a file): the deploy
runtime and the exporter share it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from g1_mimic.fileio import atomic_write_json

CONTRACT_FORMAT = "g1_mimic.deploy_contract"
#: Version of the contract layout this code writes and reads. Bump on any incompatible change.
CONTRACT_VERSION = 1
#: File name of the contract beside the ONNX file.
CONTRACT_FILENAME = "policy.json"
#: The policy graph written beside it (:mod:`g1_mimic.rl.policy_graph`).
GRAPH_FILENAME = "policy_graph.onnx"

OFFSET_DEFAULT = "default_joint_pos"
OFFSET_REFERENCE = "reference_joint_pos"
OFFSET_KINDS = (OFFSET_DEFAULT, OFFSET_REFERENCE)

#: Observation term kinds the policy graph computes: kind -> (frame, units, meaning).
TERM_KINDS: dict[str, dict[str, str]] = {
    "reference_joint_pos_vel": {
        "frame": "joint space, reference joint order",
        "units": "rad, rad/s",
        "meaning": "reference joint positions then velocities at the current reference time",
    },
    "reference_anchor_pos_b": {
        "frame": "robot anchor body frame",
        "units": "m",
        "meaning": "reference anchor position relative to the robot anchor",
    },
    "reference_anchor_ori6d_b": {
        "frame": "robot anchor body frame",
        "units": "rotation matrix entries",
        "meaning": "reference anchor orientation in the robot anchor frame, first two matrix columns "
        "row-major [m00, m01, m10, m11, m20, m21]",
    },
    "root_lin_vel_b": {
        "frame": "root (pelvis) link frame",
        "units": "m/s",
        "meaning": "linear velocity of the root body's centre of mass, rotated into the root link frame",
    },
    "root_ang_vel_b": {
        "frame": "root (pelvis) link frame",
        "units": "rad/s",
        "meaning": "root angular velocity in the root link frame",
    },
    "joint_pos_rel": {
        "frame": "joint space, term joint order",
        "units": "rad",
        "meaning": "joint positions minus joints.default_pos",
    },
    "joint_vel_rel": {
        "frame": "joint space, term joint order",
        "units": "rad/s",
        "meaning": "joint velocities minus joints.default_vel",
    },
    "last_action": {
        "frame": "action space, policy joint order",
        "units": "action units (raw policy output)",
        "meaning": "the previous policy output (after raw_clip), zero after a reset",
    },
    "future_reference": {
        "frame": "joint space / robot anchor frame",
        "units": "rad, m, rotation matrix entries",
        "meaning": "for each offset k: reference joint positions at t + k*control_dt, then the reference "
        "anchor position and 6-D orientation at that time in the current robot anchor frame",
    },
}
#: Kind written by the exporter for a term it cannot describe (the runtime refuses such contracts).
#: BeyondMimic's failure conditions on the G1 (the default task's), in the contract's layout: what the
#: policy graph checks when the policy's env had none of them (``deepmimic`` variant).
BEYONDMIMIC_TERMINATIONS: dict[str, Any] = {
    "anchor_pos": {"threshold": 0.25},
    "anchor_ori": {"threshold": 0.8},
    "ee_body_pos": {
        "threshold": 0.25,
        "body_names": ["left_ankle_roll_link", "right_ankle_roll_link", "left_wrist_yaw_link", "right_wrist_yaw_link"],
    },
}


def failure_conditions(contract: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The failure conditions a deployed policy is checked with, and whence they come: the contract's
    ``terminations`` that are BeyondMimic's kinds (``anchor_pos``, ``anchor_ori``, ``ee_body_pos``), or
    :data:`BEYONDMIMIC_TERMINATIONS` when the policy's env had none of them."""
    terms = contract.get("terminations") or {}
    if any(k in terms for k in BEYONDMIMIC_TERMINATIONS):
        return {k: terms[k] for k in BEYONDMIMIC_TERMINATIONS if k in terms}, "contract (the policy's env)"
    return dict(BEYONDMIMIC_TERMINATIONS), "BeyondMimic defaults (the policy's env had none of these conditions)"


UNSUPPORTED_KIND = "unsupported"

_REQUIRED_TOP = (
    "format",
    "format_version",
    "quaternion_order",
    "control_dt",
    "physics_dt",
    "decimation",
    "joint_names",
    "sdk_joint_names",
    "policy_to_sdk",
    "action_dim",
    "observation_dim",
    "joints",
    "robot",
    "action",
    "observation",
    "reference",
    "terminations",
    "onnx",
)
_PER_JOINT = ("default_pos", "default_vel", "stiffness", "damping", "effort_limit", "velocity_limit", "armature")
_PER_JOINT_PAIRS = ("pos_limits", "soft_pos_limits")


class ContractError(ValueError):
    """A deploy contract is unusable. ``field`` names the offending field (dotted path)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"deploy contract field '{field}': {message}")


# ---------------------------------------------------------------------------------------------
# reading and writing
# ---------------------------------------------------------------------------------------------
def write_json_atomic(data: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically (temporary file + rename)."""
    return atomic_write_json(path, dict(data))


def load_contract(path: str | os.PathLike) -> dict[str, Any]:
    """Read a contract JSON file (no validation; see :func:`validate_contract`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except json.JSONDecodeError as exc:
        raise ContractError("<file>", f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ContractError("<file>", f"{path} holds a {type(data).__name__}, expected a JSON object")
    return data


def contract_from_metadata(props: Mapping[str, str]) -> dict[str, Any] | None:
    """Rebuild the contract from ONNX metadata (``key -> JSON string``); None if it holds none."""
    if "format" not in props:
        return None
    out: dict[str, Any] = {}
    for key, value in props.items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def contract_to_metadata(contract: Mapping[str, Any]) -> dict[str, str]:
    """The contract as ONNX metadata entries: one per top-level key, JSON-encoded values."""
    return {key: json.dumps(value) for key, value in contract.items()}


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(float(x))


def _num_list(c: Mapping[str, Any], key: str, where: str, n: int) -> list[float]:
    value = c.get(key)
    if not isinstance(value, list) or len(value) != n:
        got = f"{len(value)} values" if isinstance(value, list) else type(value).__name__
        raise ContractError(
            f"{where}.{key}" if where else key, f"expected {n} numbers (one per policy joint), got {got}"
        )
    for i, v in enumerate(value):
        if not _is_num(v):
            raise ContractError(f"{where}.{key}[{i}]" if where else f"{key}[{i}]", f"{v!r} is not a finite number")
    return [float(v) for v in value]


def _names(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise ContractError(field, "expected a list of names")
    dup = sorted({n for n in value if value.count(n) > 1})
    if dup:
        raise ContractError(field, f"names {dup} appear more than once")
    return list(value)


def term_frame_dim(term: Mapping[str, Any], contract: Mapping[str, Any]) -> int | None:
    """Width of one frame (no history) of an observation term as its kind computes it; None if unknown."""
    kind = term.get("kind")
    joints = term.get("joint_names") or []
    if kind == "reference_joint_pos_vel":
        return 2 * len(joints)
    if kind == "reference_anchor_pos_b" or kind in ("root_lin_vel_b", "root_ang_vel_b"):
        return 3
    if kind == "reference_anchor_ori6d_b":
        return 6
    if kind in ("joint_pos_rel", "joint_vel_rel"):
        return len(joints)
    if kind == "last_action":
        return int(contract.get("action_dim", -1))
    if kind == "future_reference":
        offsets = (term.get("params") or {}).get("offsets") or []
        return (len(joints) + 9) * len(offsets)
    return None


def check_format(contract: Any) -> None:
    """Raise :class:`ContractError` unless ``contract`` is a contract object of the version this code reads."""
    if not isinstance(contract, Mapping):
        raise ContractError("<root>", f"expected a JSON object, got {type(contract).__name__}")
    if contract.get("format") != CONTRACT_FORMAT:
        raise ContractError("format", f"is {contract.get('format')!r}, expected {CONTRACT_FORMAT!r}")
    version = contract.get("format_version")
    if version != CONTRACT_VERSION:
        raise ContractError(
            "format_version",
            f"is {version!r}; this g1_mimic reads version {CONTRACT_VERSION}. Re-export the policy with "
            "this version (scripts/play.py --export_only) or use the g1_mimic version that wrote it.",
        )


def validate_contract(contract: Mapping[str, Any], require_supported_terms: bool = True) -> None:
    """Check a contract's version and internal consistency; raise :class:`ContractError` naming the field.

    Checks: format and version; required fields; unique joint names and one value per joint in
    every per-joint array; the SDK map; every observation term's kind (when
    ``require_supported_terms``), joints and dim (``history x frame width``) and that the dims add
    up to ``observation_dim``; the action's scale, offset and clip shapes; the time steps.
    """
    check_format(contract)
    missing = [k for k in _REQUIRED_TOP if k not in contract]
    if missing:
        raise ContractError(missing[0], f"missing (required fields absent: {missing})")
    if contract["quaternion_order"] != "xyzw":
        raise ContractError("quaternion_order", f"is {contract['quaternion_order']!r}; the runtime uses 'xyzw'")
    for key in ("control_dt", "physics_dt"):
        if not _is_num(contract[key]) or contract[key] <= 0:
            raise ContractError(key, f"must be a positive time step in seconds, got {contract[key]!r}")
    ratio = contract["control_dt"] / contract["physics_dt"]
    if contract["decimation"] != round(ratio) or abs(ratio - round(ratio)) > 1e-6:
        raise ContractError("decimation", f"is {contract['decimation']!r}, control_dt / physics_dt = {ratio:.6g}")

    joint_names = _names(contract["joint_names"], "joint_names")
    n = len(joint_names)
    if contract["action_dim"] != n:
        raise ContractError("action_dim", f"is {contract['action_dim']!r} but joint_names lists {n} joints")
    sdk = _names(contract["sdk_joint_names"], "sdk_joint_names")
    p2s = contract["policy_to_sdk"]
    if not isinstance(p2s, list) or len(p2s) != n:
        raise ContractError("policy_to_sdk", f"expected {n} SDK indices (one per policy joint)")
    for i, (name, k) in enumerate(zip(joint_names, p2s, strict=True)):
        if not isinstance(k, int) or not 0 <= k < len(sdk) or sdk[k] != name:
            raise ContractError(
                f"policy_to_sdk[{i}]",
                f"is {k!r} but policy joint {i} is {name!r} (SDK index {sdk.index(name) if name in sdk else 'none'})",
            )

    joints = contract["joints"]
    if not isinstance(joints, Mapping):
        raise ContractError("joints", "expected an object of per-joint arrays")
    for key in _PER_JOINT:
        _num_list(joints, key, "joints", n)
    for key in _PER_JOINT_PAIRS:
        pairs = joints.get(key)
        if (
            not isinstance(pairs, list)
            or len(pairs) != n
            or not all(isinstance(p, list) and len(p) == 2 for p in pairs)
        ):
            raise ContractError(f"joints.{key}", f"expected {n} [lower, upper] pairs")

    robot = contract["robot"]
    for key in ("root_body", "anchor_body"):
        if not isinstance(robot.get(key), str):
            raise ContractError(f"robot.{key}", "expected a body name")
    com = robot.get("root_com_offset_b")
    if not isinstance(com, list) or len(com) != 3 or not all(_is_num(v) for v in com):
        raise ContractError("robot.root_com_offset_b", "expected 3 numbers (m, root link frame)")

    action = contract["action"]
    _num_list(action, "scale", "action", n)
    kind = action.get("offset_kind")
    if kind not in OFFSET_KINDS:
        raise ContractError("action.offset_kind", f"is {kind!r}, expected one of {OFFSET_KINDS}")
    if kind == OFFSET_DEFAULT:
        _num_list(action, "offset", "action", n)
    lead = action.get("reference_lead_s")
    if lead is not None and (not _is_num(lead) or lead < 0.0):
        raise ContractError("action.reference_lead_s", f"expected null or a number >= 0 (s), got {lead!r}")
    clip = action.get("clip")
    if clip is not None and (not isinstance(clip, list) or len(clip) != n):
        raise ContractError("action.clip", f"expected null or {n} [lower, upper] pairs")
    raw_clip = action.get("raw_clip")
    if raw_clip is not None and (not _is_num(raw_clip) or raw_clip <= 0):
        raise ContractError("action.raw_clip", f"expected null or a positive number, got {raw_clip!r}")
    alpha = action.get("filter_alpha")
    if not _is_num(alpha) or not 0.0 < alpha <= 1.0:
        raise ContractError("action.filter_alpha", f"expected a number in (0, 1], got {alpha!r}")

    obs = contract["observation"]
    terms = obs.get("terms")
    if not isinstance(terms, list) or not terms:
        raise ContractError("observation.terms", "expected a non-empty list of terms")
    if obs.get("history_order") not in ("term", "time"):
        raise ContractError("observation.history_order", f"is {obs.get('history_order')!r}, expected 'term' or 'time'")
    ref_joints = set(contract["reference"].get("joint_names") or [])
    total = 0
    seen: set[str] = set()
    for i, term in enumerate(terms):
        where = f"observation.terms[{i}]"
        name = term.get("name")
        if not isinstance(name, str) or name in seen:
            raise ContractError(f"{where}.name", f"{name!r} is missing or repeated")
        seen.add(name)
        kind = term.get("kind")
        if kind not in TERM_KINDS:
            if require_supported_terms or kind != UNSUPPORTED_KIND:
                raise ContractError(
                    f"{where}.kind",
                    f"term '{name}' has kind {kind!r} (function {term.get('function')!r}); the policy graph "
                    f"computes {sorted(TERM_KINDS)}",
                )
        if kind in ("joint_pos_rel", "joint_vel_rel"):
            unknown = [j for j in term.get("joint_names") or [] if j not in joint_names]
            if unknown:
                raise ContractError(
                    f"{where}.joint_names", f"term '{name}' reads joints {unknown} that are not policy joints"
                )
        if kind in ("reference_joint_pos_vel", "future_reference"):
            unknown = [j for j in term.get("joint_names") or [] if j not in ref_joints]
            if unknown:
                raise ContractError(
                    f"{where}.joint_names", f"term '{name}' reads joints {unknown} absent from reference.joint_names"
                )
        hist = term.get("history_length", 0)
        if not isinstance(hist, int) or hist < 0:
            raise ContractError(f"{where}.history_length", f"expected an integer >= 0, got {hist!r}")
        if hist > 0 and not term.get("flatten_history_dim", True):
            raise ContractError(f"{where}.flatten_history_dim", "the runtime needs flattened history (true)")
        dim = term.get("dim")
        if not isinstance(dim, int) or dim <= 0:
            raise ContractError(f"{where}.dim", f"expected a positive integer, got {dim!r}")
        frame = term_frame_dim(term, contract)
        if frame is not None and dim != max(hist, 1) * frame:
            raise ContractError(
                f"{where}.dim",
                f"term '{name}' ({kind}) is declared {dim} wide but computes "
                f"{max(hist, 1)} x {frame} = {max(hist, 1) * frame}",
            )
        clip = term.get("clip")
        if clip is not None and (not isinstance(clip, list) or len(clip) != 2 or not all(_is_num(v) for v in clip)):
            raise ContractError(f"{where}.clip", f"expected null or [lower, upper], got {clip!r}")
        scale = term.get("scale")
        if scale is not None and not _is_num(scale):
            if not isinstance(scale, list) or len(scale) != (frame or len(scale)) or not all(_is_num(v) for v in scale):
                raise ContractError(f"{where}.scale", f"expected null, a number or {frame} numbers, got {scale!r}")
        total += dim
    if contract["observation_dim"] != total:
        raise ContractError("observation_dim", f"is {contract['observation_dim']!r} but the terms add up to {total}")


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Dotted path of the first place where two JSON values differ (None if equal)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return sub
            diff = first_difference(a[key], b[key], sub)
            if diff is not None:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} (length {len(a)} vs {len(b)})"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            diff = first_difference(x, y, f"{path}[{i}]")
            if diff is not None:
                return diff
        return None
    if _is_num(a) and _is_num(b):
        return None if float(a) == float(b) else path
    return None if a == b else path


def _value_at(data: Any, path: str) -> Any:
    cur = data
    for part in path.replace("]", "").replace("[", ".").split("."):
        if not part or part.startswith("(length"):
            continue
        try:
            cur = cur[int(part)] if isinstance(cur, list) else cur[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return "<absent>"
    return cur


def check_matches_embedded(contract: Mapping[str, Any], embedded: Mapping[str, Any], where: str) -> None:
    """Raise :class:`ContractError` if ``contract`` differs from the one embedded in the ONNX file ``where``."""
    diff = first_difference(dict(contract), dict(embedded))
    if diff is None:
        return
    field = diff.split(" ")[0]
    raise ContractError(
        field,
        f"the contract file says {_value_at(contract, field)!r} but the policy {where} was exported with "
        f"{_value_at(embedded, field)!r}. The contract must be the one written with the ONNX file "
        "(re-export the policy instead of editing the contract).",
    )


def check_onnx_dims(contract: Mapping[str, Any], input_width: int | None, output_width: int | None, where: str) -> None:
    """Raise :class:`ContractError` if ``observation_dim``/``action_dim`` disagree with the ONNX tensor widths."""
    if input_width is not None and contract["observation_dim"] != input_width:
        raise ContractError(
            "observation_dim", f"is {contract['observation_dim']} but the ONNX input of {where} is {input_width} wide"
        )
    if output_width is not None and contract["action_dim"] != output_width:
        raise ContractError(
            "action_dim", f"is {contract['action_dim']} but the ONNX output of {where} is {output_width} wide"
        )


def check_robot_joints(contract: Mapping[str, Any], robot_joint_names: Sequence[str], what: str = "the robot") -> None:
    """Raise :class:`ContractError` unless every policy joint is a joint of ``what`` (names compared exactly)."""
    have = set(robot_joint_names)
    missing = [n for n in contract["joint_names"] if n not in have]
    if missing:
        raise ContractError(
            "joint_names", f"joints {missing} are not joints of {what} (it has {list(robot_joint_names)})"
        )
    extra = [n for n in robot_joint_names if n not in set(contract["joint_names"])]
    if extra:
        raise ContractError("joint_names", f"{what} has joints {extra} the policy does not drive")


def onnx_session(path: str | os.PathLike):
    """An onnxruntime CPU session on ``path`` (one thread: a control loop runs one small model at a time).

    Raises:
        FileNotFoundError: no such file.
        ContractError: not a loadable ONNX model (the first line of onnxruntime's message).
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ONNX file")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types (InvalidProtobuf, Fail, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ContractError(
            "<file>", f"{path} is not a loadable ONNX model ({first}); re-export it with scripts/play.py --export_only"
        ) from None


def load_policy_contract(
    policy: str | os.PathLike,
    contract: str | os.PathLike | Mapping[str, Any] | None = None,
    require_supported_terms: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """Open an exported ``policy.onnx`` (observation vector -> action) and its contract, checked against each other.

    For robot stacks that build the observation themselves (``deploy.yaml`` consumers); the
    :class:`~g1_mimic.deploy.graph_runtime.GraphRuntime` runs ``policy_graph.onnx`` instead.

    Args:
        policy: the exported ``policy.onnx``.
        contract: a contract file or dict; default ``policy.json`` beside the ONNX file, else the
            contract embedded in the ONNX metadata.
        require_supported_terms: refuse observation terms of unknown kind.

    Checks, in this order (the first failure is raised, naming the field): the format and version;
    that the contract equals the one embedded in the ONNX file (when it has one); the contract's
    internal consistency (:func:`validate_contract`); the observation and action widths against the
    ONNX input and output.

    Returns:
        ``(onnxruntime.InferenceSession, contract dict)``.

    Raises:
        ContractError: version, consistency, dims or a difference from the embedded contract (named).
        FileNotFoundError: no policy file, or no contract anywhere.
    """
    policy = Path(policy)
    session = onnx_session(policy)
    embedded = contract_from_metadata(session.get_modelmeta().custom_metadata_map)
    if contract is None:
        beside = policy.with_name(CONTRACT_FILENAME)
        if beside.is_file():
            contract = beside
        elif embedded is not None:
            contract = embedded
        else:
            raise FileNotFoundError(f"{policy}: no {CONTRACT_FILENAME} beside it and no contract in its metadata")
    data = load_contract(contract) if not isinstance(contract, Mapping) else dict(contract)
    check_format(data)
    if embedded is not None:
        check_matches_embedded(data, embedded, str(policy))
    validate_contract(data, require_supported_terms=require_supported_terms)

    def width(shape: Sequence[Any]) -> int | None:
        last = shape[-1] if shape else None
        return int(last) if isinstance(last, int) else None

    check_onnx_dims(data, width(session.get_inputs()[0].shape), width(session.get_outputs()[0].shape), str(policy))
    return session, data
