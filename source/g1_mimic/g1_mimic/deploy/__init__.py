"""Deploy side of g1_mimic: run an exported policy on a robot or in plain MuJoCo (sim2sim).

Imports numpy, onnxruntime and mujoco only: no Isaac Lab, no torch (``tests/test_deploy.py``
checks it in a fresh interpreter).

* :mod:`~g1_mimic.deploy.contract`: the deploy contract (schema, validation, checks against the ONNX file);
* :mod:`~g1_mimic.deploy.runtime`: :class:`PolicyRuntime` (robot state + reference -> PD targets);
* :mod:`~g1_mimic.deploy.graph_runtime`: :class:`GraphRuntime` (the same from ``policy_graph.onnx`` alone);
* :mod:`~g1_mimic.deploy.state`: :class:`RobotState` and anchor forward kinematics;
* :mod:`~g1_mimic.deploy.reference`: the reference at time ``t`` as the env computes it;
* :mod:`~g1_mimic.deploy.observations`: the observation terms;
* :mod:`~g1_mimic.deploy.failures`: the env's failure conditions;
* :mod:`~g1_mimic.deploy.mujoco_sim` / :mod:`~g1_mimic.deploy.sim2sim`: the G1 in MuJoCo C and the sim2sim evaluation;
* :mod:`~g1_mimic.deploy.deploy_yaml`: unitree_rl_lab-style ``deploy.yaml``.
"""

from .contract import CONTRACT_FORMAT, CONTRACT_VERSION, ContractError, load_contract, validate_contract
from .graph_runtime import GraphRuntime, GraphStepOutput
from .runtime import PolicyRuntime, StepOutput, load_policy_contract
from .state import AnchorKinematics, RobotState

__all__ = [
    "CONTRACT_FORMAT",
    "CONTRACT_VERSION",
    "AnchorKinematics",
    "ContractError",
    "GraphRuntime",
    "GraphStepOutput",
    "PolicyRuntime",
    "RobotState",
    "StepOutput",
    "load_contract",
    "load_policy_contract",
    "validate_contract",
]
