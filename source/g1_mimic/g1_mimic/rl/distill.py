"""Multi-expert distillation (DAgger) on rsl_rl's ``Distillation``: per-clip PPO experts teach one student.

The student (an rsl_rl ``MLPModel`` on the actor's observation group, the inputs a robot has) acts in the
env with a small fixed noise; every step the expert of the env's current clip labels the state with its
action, and the student regresses onto those labels (rsl_rl's behaviour-cloning loss). The student
therefore learns on the states its own policy visits, which is what separates DAgger from cloning the
experts' rollouts.

:class:`MultiExpertTeacher` holds one expert actor per clip, read from PPO checkpoints (``model_<it>.pt``
of ``scripts/train.py`` runs) with the safe loader, and routes each env to its clip's expert by the
``expert_route`` observation group (the motion command's clip index; :func:`motion_clip_index`).
Expert ``i`` teaches clip ``i`` of the motion library, so the motion list must name the clips in the
experts' order (``scripts/distill.py`` writes that list from the experts' run records).
:class:`MultiExpertDistillation` is rsl_rl's algorithm with the teacher marked loaded (its experts
were loaded when it was built), selected by ``class_name`` in the agent cfg
(``config/g1/agents/rsl_rl_distill_cfg.py``).

Student checkpoints keep rsl_rl's distillation layout (``student_state_dict``, ``teacher_state_dict``);
play, evaluation, export and sim2sim load the student as the policy (:func:`g1_mimic.rl.checkpoint.load_checkpoint`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn as nn
from rsl_rl.algorithms import Distillation
from rsl_rl.models import MLPModel
from tensordict import TensorDict

ROUTE_GROUP = "expert_route"
"""Observation group with the clip index of each env (one column, float)."""


class ExpertError(ValueError):
    """An expert checkpoint that cannot teach this task (missing, wrong sizes); the message names the file."""


def _mlp_layout(state: dict[str, torch.Tensor]) -> tuple[int, list[int], int]:
    """(input size, hidden sizes, output size) of an rsl_rl MLP state dict (keys ``mlp.<i>.weight``)."""
    weights = sorted(
        ((int(k.split(".")[1]), v) for k, v in state.items() if k.startswith("mlp.") and k.endswith(".weight")),
        key=lambda kv: kv[0],
    )
    if not weights:
        raise KeyError("no mlp.<i>.weight tensors")
    shapes = [tuple(v.shape) for _, v in weights]
    return shapes[0][1], [s[0] for s in shapes[:-1]], shapes[-1][0]


def load_expert(
    path: str | Path, obs: TensorDict, obs_groups: Sequence[str], output_dim: int, activation: str = "elu"
) -> MLPModel:
    """The deterministic actor of a PPO checkpoint as an rsl_rl ``MLPModel`` on ``obs_groups``, in eval mode.

    The hidden sizes come from the checkpoint's weights; its observation normaliser is kept (frozen), its
    action distribution dropped (the teacher gives its mean action). Raises :class:`ExpertError` naming the
    file when it is not a PPO checkpoint or its input/output sizes differ from this task's.
    """
    from g1_mimic.rl.checkpoint import CheckpointError, load_checkpoint

    path = Path(path)
    try:
        loaded = load_checkpoint(path, map_location="cpu")
    except CheckpointError as exc:
        raise ExpertError(f"expert {exc}") from None
    if "actor_state_dict" not in loaded:
        raise ExpertError(f"expert {path}: a distilled student, not a PPO expert (no 'actor_state_dict'); pass a PPO run's model_<it>.pt")
    actor = loaded["actor_state_dict"]
    try:
        in_dim, hidden, out_dim = _mlp_layout(actor)
    except KeyError:
        raise ExpertError(f"expert {path}: 'actor_state_dict' holds no MLP (mlp.<i>.weight); pass a PPO run's model_<it>.pt") from None
    want_in = sum(int(obs[g].shape[-1]) for g in obs_groups)
    if in_dim != want_in or out_dim != output_dim:
        raise ExpertError(
            f"expert {path}: its actor maps {in_dim} observations to {out_dim} actions, this task's student "
            f"{want_in} to {output_dim}; train the expert on the same task and variant as the student"
        )
    normalised = any(k.startswith("obs_normalizer.") for k in actor)
    model = MLPModel(obs, {"expert": list(obs_groups)}, "expert", output_dim, hidden, activation, normalised)
    model.load_state_dict({k: v for k, v in actor.items() if not k.startswith("distribution.")}, strict=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


class MultiExpertTeacher(nn.Module):
    """One frozen expert actor per clip; each env gets the action of its current clip's expert.

    Constructed by rsl_rl (``teacher`` cfg, ``class_name: g1_mimic.rl.distill:MultiExpertTeacher``) with the
    first observations; ``experts[i]`` is the PPO checkpoint of clip ``i``. The observation group
    ``route_group`` holds each env's clip index.
    """

    is_recurrent = False

    def __init__(
        self,
        obs: TensorDict,
        obs_groups: dict[str, list[str]],
        obs_set: str,
        output_dim: int,
        experts: Sequence[str] = (),
        route_group: str = ROUTE_GROUP,
        activation: str = "elu",
        **unused,
    ) -> None:
        super().__init__()
        if not experts:
            raise ExpertError("MultiExpertTeacher: no experts given (agent.teacher.experts=[model_a.pt,model_b.pt,...])")
        if route_group not in obs.keys():
            raise ExpertError(
                f"MultiExpertTeacher: the env has no '{route_group}' observation group (the clip index); "
                "train the distillation task Isaac-G1-Mimic-CPU-Distill-v0"
            )
        self.obs_groups = list(obs_groups[obs_set])
        self.route_group = route_group
        self.expert_paths = [str(p) for p in experts]
        self.experts = nn.ModuleList(load_expert(p, obs, self.obs_groups, output_dim, activation) for p in experts)

    def forward(self, obs: TensorDict, masks=None, hidden_state=None, stochastic_output: bool = False) -> torch.Tensor:
        """Actions [N, A]: row ``n`` is expert ``route[n]``'s mean action for env ``n``."""
        route = obs[self.route_group][:, 0].round().long()
        if bool(((route < 0) | (route >= len(self.experts))).any()):
            raise ExpertError(
                f"MultiExpertTeacher: clip index {int(route.max())} but {len(self.experts)} experts: the motion list "
                "has more clips than experts (one expert per clip, in the list's order)"
            )
        actions = torch.stack([expert(obs) for expert in self.experts])  # [E, N, A]
        return actions.gather(0, route.view(1, -1, 1).expand(1, -1, actions.shape[-1]))[0]

    # rsl_rl's model interface (non-recurrent)
    def reset(self, dones=None, hidden_state=None) -> None:
        pass

    def get_hidden_state(self):
        return None

    def detach_hidden_state(self, dones=None) -> None:
        pass

    def update_normalization(self, obs: TensorDict) -> None:
        """The experts' normalisers stay as trained."""


class MultiExpertDistillation(Distillation):
    """rsl_rl ``Distillation`` whose teacher loaded its experts when built (no teacher checkpoint to load)."""

    def __init__(self, student: MLPModel, teacher: nn.Module, *args, **kwargs) -> None:
        super().__init__(student, teacher, *args, **kwargs)
        self.teacher_loaded = isinstance(teacher, MultiExpertTeacher)
