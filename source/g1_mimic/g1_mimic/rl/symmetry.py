"""Left-right mirror of the tracking task's observations and actions, for rsl_rl's symmetry augmentation.

The G1 is symmetric about its sagittal (x-z) plane. Mirroring a state of the tracking MDP mirrors
the robot and the reference together, which gives another valid state of the same MDP (the
reference mirrored): rsl_rl's :class:`~rsl_rl.extensions.Symmetry` appends the mirrored samples to
every mini-batch (Mittal et al., ICRA 2024), two samples per env step. ``presets=symmetry`` turns it on.

The mirror, with ``M = diag(1, -1, 1)`` (the robot's y axis flips):

* joints: ``left_*`` and ``right_*`` swap; roll and yaw angles (and velocities, actions) change sign,
  pitch angles (hip, knee, ankle, shoulder, elbow, wrist pitch) keep it;
* positions and linear velocities in a body frame (polar vectors): ``M v``;
* angular velocities (axial vectors): ``-M w``;
* rotations in a body frame: ``M R M``; BeyondMimic's 6-D rotation (``R``'s first two columns,
  row-major ``[m00, m01, m10, m11, m20, m21]``) changes sign in ``m01, m10, m21``;
* tracked bodies: ``left_*`` and ``right_*`` rows swap.

Each observation term is mirrored by what its function returns (:data:`TERM_MIRRORS`); a term
without a mirror is refused with its name, and history frames are mirrored one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from g1_mimic.rl.manager_view import group_is_time_major, joint_action_term, observation_terms

__all__ = ["joint_mirror", "mirror_observations_actions", "name_partner"]

_ROT6D_SIGN = (1.0, -1.0, -1.0, 1.0, 1.0, -1.0)


def name_partner(name: str) -> str:
    """The mirror partner of a joint or body name: ``left_`` and ``right_`` swapped (others: itself)."""
    if "left_" in name:
        return name.replace("left_", "right_")
    if "right_" in name:
        return name.replace("right_", "left_")
    return name


def joint_mirror(names: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(index, sign)`` such that ``mirrored[..., i] = sign[i] * x[..., index[i]]`` for joint-space ``x``.

    Raises:
        ValueError: a joint whose partner is not among ``names``.
    """
    names = list(names)
    missing = [n for n in names if name_partner(n) not in names]
    if missing:
        raise ValueError(f"symmetry: joints {missing} have no left/right partner among {names}")
    index = torch.tensor([names.index(name_partner(n)) for n in names], dtype=torch.long)
    sign = torch.tensor([-1.0 if ("_roll_" in n or "_yaw_" in n) else 1.0 for n in names])
    return index, sign


def _body_index(names: Sequence[str]) -> torch.Tensor:
    names = list(names)
    missing = [n for n in names if name_partner(n) not in names]
    if missing:
        raise ValueError(f"symmetry: bodies {missing} have no left/right partner among {names}")
    return torch.tensor([names.index(name_partner(n)) for n in names], dtype=torch.long)


def _joints(index: torch.Tensor, sign: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: x[..., index] * sign.to(x)


def _per_body(index: torch.Tensor, sign: Sequence[float]) -> Callable[[torch.Tensor], torch.Tensor]:
    width = len(sign)

    def mirror(x: torch.Tensor) -> torch.Tensor:
        v = x.unflatten(-1, (-1, width))[..., index, :] * torch.tensor(sign).to(x)
        return v.flatten(-2)

    return mirror


def _concat(parts: list[tuple[int, Callable[[torch.Tensor], torch.Tensor]]]) -> Callable[[torch.Tensor], torch.Tensor]:
    def mirror(x: torch.Tensor) -> torch.Tensor:
        out, k = [], 0
        for width, f in parts:
            out.append(f(x[..., k : k + width]))
            k += width
        return torch.cat(out, dim=-1)

    return mirror


_POLAR = (1.0, -1.0, 1.0)
_AXIAL = (-1.0, 1.0, -1.0)


def _term_mirror(env, cmd, name: str, term_cfg) -> Callable[[torch.Tensor], torch.Tensor]:
    """The mirror of one frame of observation term ``name`` (see :data:`TERM_MIRRORS`)."""
    from g1_mimic.tasks.mimic import mdp

    robot = env.scene["robot"]
    func = term_cfg.func
    one = torch.zeros(1, dtype=torch.long)
    vec = {"polar": _per_body(one, _POLAR), "axial": _per_body(one, _AXIAL), "rot6d": _per_body(one, _ROT6D_SIGN)}
    if func is mdp.generated_commands and term_cfg.params.get("command_name") == "motion":
        j = _joints(*joint_mirror(cmd.joint_names))
        n = len(cmd.joint_names)
        return _concat([(n, j), (n, j)])
    if func in (mdp.motion_anchor_pos_b, mdp.base_lin_vel, mdp.projected_gravity):
        return vec["polar"]
    if func is mdp.base_ang_vel:
        return vec["axial"]
    if func is mdp.motion_anchor_ori_b:
        return vec["rot6d"]
    if func in (mdp.joint_pos_rel, mdp.joint_vel_rel):
        ids = term_cfg.params["asset_cfg"].joint_ids
        names = robot.joint_names if isinstance(ids, slice) else [robot.joint_names[int(i)] for i in ids]
        return _joints(*joint_mirror(names))
    if func is mdp.last_action:
        return _joints(*joint_mirror(_action_joints(env)))
    if func is mdp.robot_body_pos_b:
        return _per_body(_body_index(cmd.body_names), _POLAR)
    if func is mdp.robot_body_ori_b:
        return _per_body(_body_index(cmd.body_names), _ROT6D_SIGN)
    if func is mdp.future_reference:
        j = _joints(*joint_mirror(cmd.joint_names))
        n = len(cmd.joint_names)
        per_offset = [(n, j), (3, vec["polar"]), (6, vec["rot6d"])]
        return _concat(per_offset * len(term_cfg.params.get("offsets", (1, 2, 3))))
    raise ValueError(
        f"symmetry: observation term '{name}' ({getattr(func, '__name__', func)}) has no left-right mirror; "
        "add one to g1_mimic.rl.symmetry or train without presets=symmetry"
    )


def _action_joints(env) -> list[str]:
    return list(joint_action_term(env, "symmetry")[1].IO_descriptor.joint_names)


def _group_mirror(env, group: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The mirror of a whole observation group vector (terms in order, history frames one by one)."""
    cmd = env.command_manager.get_term("motion")
    if group_is_time_major(env, group):
        raise ValueError(f"symmetry: observation group '{group}' is time-major; only term-major history is mirrored")
    parts = []
    for name, tc, dims in observation_terms(env, group):
        width = int(torch.tensor(dims).prod())
        frame = _term_mirror(env, cmd, name, tc)
        h = int(tc.history_length)
        if h > 0:
            fw = width // h
            parts.append((width, lambda x, f=frame, fw=fw: f(x.unflatten(-1, (-1, fw))).flatten(-2)))
        else:
            parts.append((width, frame))
    return _concat(parts)


def _plan(env) -> dict[str, Any]:
    """Mirrors of every observation group and of the actions, built once per env."""
    plan = getattr(env, "_g1_mimic_symmetry", None)
    if plan is None:
        groups = {g: _group_mirror(env, g) for g in env.observation_manager.active_terms}
        actions = _joints(*joint_mirror(_action_joints(env)))
        _check_default_pose_symmetric(env)
        plan = {"groups": groups, "actions": actions}
        env._g1_mimic_symmetry = plan
    return plan


def _check_default_pose_symmetric(env) -> None:
    """Joint offsets (default pose) and action scales must be mirror-symmetric for the mirror to hold."""
    io = joint_action_term(env, "symmetry")[1].IO_descriptor
    robot = env.scene["robot"]
    names = list(io.joint_names)
    index, sign = joint_mirror(names)
    ids = [robot.joint_names.index(n) for n in names]
    default = robot.data.default_joint_pos.torch[0, ids].cpu()
    scale = torch.as_tensor(io.scale).cpu()
    scale = scale[0] if scale.dim() > 1 else scale.expand(len(names))
    if not torch.allclose(default[index] * sign, default, atol=1e-6):
        raise ValueError("symmetry: the default joint pose is not left-right symmetric; the mirror would be wrong")
    if not torch.allclose(scale[index], scale, rtol=1e-6):
        raise ValueError("symmetry: the action scales of left and right joints differ; the mirror would be wrong")


def mirror_observations_actions(env, obs=None, actions: torch.Tensor | None = None):
    """rsl_rl's ``data_augmentation_func``: ``[original; mirrored]`` observations (every group) and actions.

    Args:
        env: the rsl_rl env wrapper (or the Isaac Lab env itself).
        obs: a TensorDict of observation groups ``[N, dim]``, or None.
        actions: ``[N, J]`` actions (policy joint order), or None.

    Returns:
        ``(obs_aug, actions_aug)`` with ``2 N`` rows each (None where the input was None).
    """
    base = getattr(env, "unwrapped", env)
    plan = _plan(base)
    obs_aug = None
    if obs is not None:
        obs_aug = obs.repeat(2)
        n = obs.batch_size[0]
        for group in obs.keys():
            mirror = plan["groups"].get(group)
            if mirror is None:
                raise ValueError(f"symmetry: no observation group '{group}' in the env")
            obs_aug[group][n:] = mirror(obs[group])
    actions_aug = None
    if actions is not None:
        actions_aug = torch.cat((actions, plan["actions"](actions)), dim=0)
    return obs_aug, actions_aug
