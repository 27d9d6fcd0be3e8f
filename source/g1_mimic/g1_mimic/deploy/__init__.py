"""Deploy side of g1_mimic: run an exported policy graph on a robot or in plain MuJoCo (sim2sim).

Imports numpy, onnxruntime and mujoco only: no Isaac Lab, no torch (``tests/test_sim2sim.py``
checks it in a fresh interpreter). The observation terms, the reference and its interpolation live
once, in the exported graph (:mod:`g1_mimic.rl.policy_graph`); this package feeds it and reads it:

* :mod:`~g1_mimic.deploy.contract`: the deploy contract (schema, validation, checks against the ONNX files);
* :mod:`~g1_mimic.deploy.graph_runtime`: :class:`GraphRuntime` (robot state -> PD targets from
  ``policy_graph.onnx``; failure checks on the quantities it returns);
* :mod:`~g1_mimic.deploy.state`: :class:`RobotState` and anchor forward kinematics;
* :mod:`~g1_mimic.deploy.mujoco_sim` / :mod:`~g1_mimic.deploy.sim2sim`: the G1 in MuJoCo C and the sim2sim evaluation;
* :mod:`~g1_mimic.deploy.deploy_yaml`: unitree_rl_lab-style ``deploy.yaml``.
"""

from .contract import (
    CONTRACT_FORMAT,
    CONTRACT_VERSION,
    ContractError,
    load_contract,
    load_policy_contract,
    validate_contract,
)
from .graph_runtime import BEYONDMIMIC_TERMINATIONS, GraphRuntime, GraphStepOutput
from .state import AnchorKinematics, RobotState

__all__ = [
    "BEYONDMIMIC_TERMINATIONS",
    "CONTRACT_FORMAT",
    "CONTRACT_VERSION",
    "AnchorKinematics",
    "ContractError",
    "GraphRuntime",
    "GraphStepOutput",
    "RobotState",
    "load_contract",
    "load_policy_contract",
    "validate_contract",
]
