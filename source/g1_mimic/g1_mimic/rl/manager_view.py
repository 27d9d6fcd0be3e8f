"""What export and symmetry read of a live env's managers, through Isaac Lab's public interfaces only.

The observation manager's ``cfg`` is its own copy of the observation cfgs, with the noise it applies
(none when a group's corruption is off), group history settings copied onto the terms, and scene
entities resolved; the action term describes itself with ``IO_descriptor`` (joints, scale, offset, clip).
"""

from __future__ import annotations

from typing import Any


def joint_action_term(env, who: str) -> tuple[str, Any]:
    """The env's only action term as ``(name, term)``; ``who`` names the caller in the error."""
    names = list(env.action_manager.active_terms)
    if len(names) != 1:
        raise ValueError(f"{who}: expects one joint-position action term; this env has {names}")
    return names[0], env.action_manager.get_term(names[0])


def observation_terms(env, group: str) -> list[tuple[str, Any, tuple[int, ...]]]:
    """``(name, term cfg as the manager applies it, output shape)`` of each active term of ``group``, in order."""
    om = env.observation_manager
    group_cfg = getattr(om.cfg, group)
    names = om.active_terms[group]
    return [(n, getattr(group_cfg, n), tuple(d)) for n, d in zip(names, om.group_obs_term_dim[group], strict=True)]


def group_is_time_major(env, group: str) -> bool:
    """Whether ``group``'s history is stored time-major (Isaac Lab's rule: group history with
    ``history_order="time"``, flattened, terms concatenated along the last dimension)."""
    g = getattr(env.observation_manager.cfg, group)
    return bool(
        g.history_order == "time"
        and g.history_length
        and g.flatten_history_dim
        and g.concatenate_terms
        and g.concatenate_dim == -1
    )
