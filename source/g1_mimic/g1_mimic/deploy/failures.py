"""The env's failure conditions in numpy, with the thresholds recorded in the contract.

Same formulas as ``g1_mimic.tasks.mimic.mdp.terminations`` (BeyondMimic's):

* ``anchor_pos``: ``|z_anchor^ref - z_anchor| > threshold`` (m, world);
* ``anchor_ori``: ``|g_z(q_anchor^ref) - g_z(q_anchor)| > threshold``, ``g = R^T (0, 0, -1)`` the gravity
  direction in the anchor frame;
* ``ee_body_pos``: any listed body (ankles, wrists) is more than ``threshold`` (m) off the height of
  its **re-anchored** reference: the reference translated so its anchor sits at the robot anchor's
  xy (reference anchor height kept) and rotated by the yaw between the two anchors;
* ``nonfinite_state``: any NaN/inf in the robot state.

Use them to stop a sim2sim episode, or as a safety monitor on the robot (a real robot should be
stopped well before these trip).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import rotations as R
from .reference import ReferenceFrame

__all__ = ["BEYONDMIMIC_TERMINATIONS", "FailureChecker", "reanchored_body_pos"]

#: BeyondMimic's failure conditions on the G1 (the default task's), in the contract's layout: used by
#: sim2sim when a policy's env had none of them (e.g. the ``deepmimic`` variant's terminations).
BEYONDMIMIC_TERMINATIONS: dict[str, Any] = {
    "anchor_pos": {"threshold": 0.25},
    "anchor_ori": {"threshold": 0.8},
    "ee_body_pos": {
        "threshold": 0.25,
        "body_names": ["left_ankle_roll_link", "right_ankle_roll_link", "left_wrist_yaw_link", "right_wrist_yaw_link"],
    },
}


def reanchored_body_pos(
    ref: ReferenceFrame, anchor: str, bodies: list[str], robot_anchor_pos_w: np.ndarray, robot_anchor_quat_w: np.ndarray
) -> np.ndarray:
    """Reference positions ``[len(bodies), 3]`` (m, world) re-anchored to the robot anchor's xy and yaw."""
    ref_anchor_pos, ref_anchor_quat = ref.pos(anchor), ref.quat(anchor)
    delta_pos = np.array([robot_anchor_pos_w[0], robot_anchor_pos_w[1], ref_anchor_pos[2]])
    delta_ori = R.yaw_quat(R.multiply(robot_anchor_quat_w, R.conjugate(ref_anchor_quat)))
    rel = np.stack([ref.pos(b) for b in bodies]) - ref_anchor_pos
    return delta_pos + R.rotate(delta_ori, rel)


class FailureChecker:
    """Evaluates the contract's ``terminations`` on one robot state.

    Args:
        contract: a validated deploy contract (``terminations`` and ``robot.anchor_body`` are read).
    """

    def __init__(self, contract: Mapping[str, Any]):
        self.anchor = contract["robot"]["anchor_body"]
        terms = contract["terminations"]
        self.anchor_pos = terms.get("anchor_pos", {}).get("threshold")
        self.anchor_ori = terms.get("anchor_ori", {}).get("threshold")
        ee = terms.get("ee_body_pos", {})
        self.ee_threshold = ee.get("threshold")
        self.ee_bodies: list[str] = list(ee.get("body_names", []))

    @property
    def bodies(self) -> list[str]:
        """Bodies whose robot positions :meth:`check` needs (besides the anchor)."""
        return list(self.ee_bodies)

    def check(
        self,
        ref: ReferenceFrame,
        robot_anchor_pos_w: np.ndarray,
        robot_anchor_quat_w: np.ndarray,
        robot_body_pos_w: Mapping[str, np.ndarray],
    ) -> list[str]:
        """Names of the failure conditions that hold (empty: the robot is tracking).

        Args:
            ref: the reference at the current time.
            robot_anchor_pos_w, robot_anchor_quat_w: the robot anchor pose (m, xyzw, world).
            robot_body_pos_w: robot positions (m, world) of :attr:`bodies`.
        """
        values = [robot_anchor_pos_w, robot_anchor_quat_w, *robot_body_pos_w.values()]
        if not all(np.all(np.isfinite(v)) for v in values):
            return ["nonfinite_state"]
        failed: list[str] = []
        if self.anchor_pos is not None and abs(ref.pos(self.anchor)[2] - robot_anchor_pos_w[2]) > self.anchor_pos:
            failed.append("anchor_pos")
        if self.anchor_ori is not None:
            g = np.array([0.0, 0.0, -1.0])
            ref_gz = R.rotate_inverse(ref.quat(self.anchor), g)[2]
            rob_gz = R.rotate_inverse(np.asarray(robot_anchor_quat_w, dtype=np.float64), g)[2]
            if abs(ref_gz - rob_gz) > self.anchor_ori:
                failed.append("anchor_ori")
        if self.ee_threshold is not None and self.ee_bodies:
            target = reanchored_body_pos(ref, self.anchor, self.ee_bodies, robot_anchor_pos_w, robot_anchor_quat_w)
            robot = np.stack([robot_body_pos_w[b] for b in self.ee_bodies])
            if np.any(np.abs(target[:, 2] - robot[:, 2]) > self.ee_threshold):
                failed.append("ee_body_pos")
        return failed
