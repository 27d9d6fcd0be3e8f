"""Importers, resampling and the CSV exporter, on synthetic clips through real G1 forward kinematics."""

from __future__ import annotations

import gzip

import motion_fixtures as F
import numpy as np
import pytest
import torch

from g1_mimic.motion import quat as Q
from g1_mimic.motion.format import MotionFormatError, load_motion, motion_from_root_and_joints
from g1_mimic.motion.importers import (
    ISAACLAB_BODY_NAMES,
    ISAACLAB_JOINT_NAMES,
    ImportOptions,
    breadth_first_order,
    convert_motion,
    detect_format,
    detect_quat_order,
    export_csv,
    import_motion,
)
from g1_mimic.motion.kinematics import g1_kinematics
from g1_mimic.motion.resample import interpolate_quat, num_resampled_frames, resample_motion
from g1_mimic.robots.g1_constants import G1_23DOF_JOINT_NAMES, SDK_JOINT_NAMES


def test_isaaclab_orders_are_the_breadth_first_order_of_the_mujoco_tree():
    kin = g1_kinematics()
    bodies, joints = breadth_first_order(kin.model)
    assert bodies == ISAACLAB_BODY_NAMES
    assert joints == ISAACLAB_JOINT_NAMES
    assert sorted(joints) == sorted(SDK_JOINT_NAMES) and joints != SDK_JOINT_NAMES
    # BeyondMimic's published order starts with both hips' pitch, then the waist.
    assert joints[:3] == ("left_hip_pitch_joint", "right_hip_pitch_joint", "waist_yaw_joint")


def test_num_resampled_frames_keeps_the_duration():
    assert num_resampled_frames(91, 30.0, 50.0) == 151  # 3 s
    assert num_resampled_frames(121, 60.0, 50.0) == 101  # 2 s
    assert num_resampled_frames(100, 50.0, 50.0) == 100
    assert num_resampled_frames(10, 30.0, 50.0) == 16  # 0.3 s -> frames at 0, 0.02, ..., 0.3
    assert num_resampled_frames(2, 30.0, 10.0) == 1


def test_quaternion_interpolation_is_slerp():
    a = Q.from_euler_xyz(np.array(0.0), np.array(0.0), np.array(0.0))
    b = Q.from_euler_xyz(np.array(0.0), np.array(0.0), np.array(1.0))
    q = interpolate_quat(np.stack([a, -b]), fps=1.0, times=np.array([0.25, 0.5]))  # -b: same rotation, short arc
    yaw = 2 * np.arctan2(q[:, 2], q[:, 3])
    np.testing.assert_allclose(yaw, [0.25, 0.5], atol=1e-12)


def test_lafan_csv_at_30hz_is_resampled_to_50hz_along_the_true_trajectory(tmp_path):
    path = F.write_lafan_csv(tmp_path / "stand.csv", fps=30.0, num_frames=91)
    motion, report = import_motion(path)
    assert motion.fps == 50.0 and motion.num_frames == 151 and motion.duration == pytest.approx(3.0)
    assert motion.joint_names == SDK_JOINT_NAMES
    assert motion.source["format"] == "csv_lafan_xyzw" and motion.source["input_fps"] == 30.0
    assert any("assuming 30 Hz" in n for n in report.notes) and not report.warnings
    # Linear interpolation of 30 Hz samples of a 0.5 Hz swing is within amp * (w dt)^2 / 8 of the truth.
    rp, rq, jp = F.standing_trajectory(50.0, 151)
    np.testing.assert_allclose(motion.joint_pos, jp, atol=5e-4)
    np.testing.assert_allclose(motion.root_pos_w, rp, atol=1e-9)
    truth = motion_from_root_and_joints(50.0, rp, rq, jp, SDK_JOINT_NAMES)
    np.testing.assert_allclose(motion.body_pos_w, truth.body_pos_w, atol=1e-3)
    np.testing.assert_allclose(motion.body_quat_w[:, 0], rq, atol=1e-9)
    # Velocities are central differences of the resampled trajectory.
    j = SDK_JOINT_NAMES.index("left_shoulder_pitch_joint")
    np.testing.assert_allclose(motion.joint_vel[1:-1, j], (motion.joint_pos[2:, j] - motion.joint_pos[:-2, j]) * 25.0)


def test_wxyz_csv_is_detected_and_imports_like_xyzw(tmp_path):
    path_a = F.write_lafan_csv(tmp_path / "a.csv", order="xyzw")
    a, _ = import_motion(path_a)
    bom = tmp_path / "bom.csv"  # spreadsheet exports may start with a UTF-8 byte-order mark
    bom.write_bytes(b"\xef\xbb\xbf" + path_a.read_bytes())
    np.testing.assert_array_equal(import_motion(bom)[0].joint_pos, a.joint_pos)
    path_b = F.write_lafan_csv(tmp_path / "b.csv", order="wxyz")
    assert detect_format(path_b)[0] == "csv_wxyz"
    b, report = import_motion(path_b)
    assert b.source["format"] == "csv_wxyz"
    assert any("detected format csv_wxyz" in n for n in report.notes)
    np.testing.assert_allclose(b.body_pos_w, a.body_pos_w, atol=1e-9)
    np.testing.assert_allclose(b.body_quat_w, a.body_quat_w, atol=1e-9)


def test_quaternion_order_detection_abstains_when_ambiguous():
    rp, rq, jp = F.standing_trajectory(30.0, 31, yaw=0.0)
    # Identity throughout: the 4th component is ~1 in every frame -> xyzw (the documented rule).
    assert detect_quat_order(rq, rp, jp)[0] == "xyzw"
    assert detect_quat_order(Q.xyzw_to_wxyz(rq), rp, jp)[0] == "wxyz"
    # Facing ~-x in wxyz looks like near-identity xyzw, but the feet sit flatter as wxyz: abstain.
    rp3, rq3, jp3 = F.standing_trajectory(30.0, 31, yaw=3.0)
    order, why = detect_quat_order(Q.xyzw_to_wxyz(rq3), rp3, jp3)
    assert order is None and "feet" in why
    # (0.5, 0.5, 0.5, 0.5) reads the same both ways.
    assert detect_quat_order(np.tile([0.5, 0.5, 0.5, 0.5], (31, 1)), rp, jp)[0] is None
    # Lying on the side (xyzw) reads as upright in wxyz, but then the feet are 60 cm under the floor.
    side = np.tile(Q.from_euler_xyz(np.array(np.pi / 2), np.array(0.0), np.array(0.0)), (31, 1))
    low = rp.copy()
    low[:, 2] = 0.15
    order, why = detect_quat_order(side, low, jp)
    assert order is None and "disagree" in why


def test_ambiguous_csv_needs_format_and_imports_with_it(tmp_path):
    rp, _, jp = F.standing_trajectory(30.0, 31)
    path = F.write_csv(tmp_path / "odd.csv", rp, np.tile([0.5, 0.5, 0.5, 0.5], (31, 1)), jp)
    out = tmp_path / "odd.npz"
    # neither order is clearly right, and read as x y z w (the LAFAN1 default) the pelvis lies on its side: refused
    with pytest.raises(MotionFormatError, match=r"odd\.csv: 36 columns, but read as .*tilted 90 deg.*--format csv_wxyz.*--format csv_lafan_xyzw"):
        convert_motion(path, out)
    assert not out.exists()
    motion, _ = import_motion(path, ImportOptions(format="csv_wxyz", out_fps=None))
    np.testing.assert_allclose(motion.root_quat_w, np.tile([0.5, 0.5, 0.5, 0.5], (31, 1)), atol=1e-12)


@pytest.mark.parametrize("policy", [None, "zero"])
def test_23dof_csv_maps_joints_by_name_and_holds_the_missing_ones(tmp_path, policy):
    path = F.write_23dof_csv(tmp_path / "g1_23.csv", fps=60.0, num_frames=121)
    motion, report = import_motion(path, ImportOptions(out_fps=None, missing_joints=policy))
    assert motion.fps == 60.0 and motion.num_frames == 121
    _, _, jp = F.standing_trajectory(60.0, 121)
    cols = motion.joint_index(G1_23DOF_JOINT_NAMES)
    np.testing.assert_allclose(motion.joint_pos[:, cols], jp[:, [SDK_JOINT_NAMES.index(n) for n in G1_23DOF_JOINT_NAMES]], atol=1e-8)
    missing = [n for n in SDK_JOINT_NAMES if n not in G1_23DOF_JOINT_NAMES]
    assert len(missing) == 6
    np.testing.assert_array_equal(motion.joint_pos[:, motion.joint_index(missing)], 0.0)
    recorded = motion.source["missing_joints"]
    assert recorded["policy"] == (policy or "default") and sorted(recorded["values_rad"]) == sorted(missing)
    assert any("6 G1 joint(s) absent" in n for n in report.notes)


def test_canonical_to_csv_to_canonical_round_trip_is_exact(tmp_path):
    original = F.standing_motion(fps=50.0, num_frames=60)
    saved = load_motion(original.save(tmp_path / "orig.npz"))  # float32 on disk
    for order, fmt in (("xyzw", "csv_lafan_xyzw"), ("wxyz", "csv_wxyz")):
        csv_path = export_csv(saved, tmp_path / f"rt_{order}.csv", quat_order=order)
        convert_motion(csv_path, tmp_path / f"rt_{order}.npz", ImportOptions(format=fmt, fps=50.0, out_fps=50.0))
        back = load_motion(tmp_path / f"rt_{order}.npz")
        assert back.num_frames == saved.num_frames and back.fps == 50.0
        np.testing.assert_allclose(back.joint_pos, saved.joint_pos, atol=1e-5, rtol=0)
        np.testing.assert_allclose(back.body_pos_w, saved.body_pos_w, atol=1e-5, rtol=0)
        np.testing.assert_allclose(back.body_quat_w, saved.body_quat_w, atol=1e-5, rtol=0)


def test_canonical_input_is_revalidated_and_resampled(tmp_path):
    path = F.standing_motion(fps=50.0, num_frames=101).save(tmp_path / "c.npz")
    same, report = import_motion(path, ImportOptions(out_fps=50.0))
    assert same.num_frames == 101 and not report.warnings
    assert same.source["format"] == "npz_canonical" and same.source["stored_body_pos_max_error_m"] < 1e-5
    slow, _ = import_motion(path, ImportOptions(out_fps=30.0))
    assert slow.num_frames == 61 and slow.duration == pytest.approx(2.0)
    direct = resample_motion(load_motion(path), 30.0)
    np.testing.assert_allclose(slow.body_pos_w, direct.body_pos_w, atol=1e-9)


def test_beyondmimic_npz_with_isaaclab_order_reproduces_the_positions(tmp_path):
    motion = F.standing_motion(fps=50.0, num_frames=51)
    path = F.write_beyondmimic_npz(tmp_path / "bm.npz", motion, ISAACLAB_JOINT_NAMES, ISAACLAB_BODY_NAMES)
    assert detect_format(path)[0] == "npz_beyondmimic"
    out, report = import_motion(path, ImportOptions(joint_order="isaaclab", body_order="isaaclab"))
    assert not report.warnings
    np.testing.assert_allclose(out.joint_pos, motion.joint_pos, atol=1e-9)
    np.testing.assert_allclose(out.body_pos_w, motion.body_pos_w, atol=1e-9)
    assert out.source["stored_body_pos_max_error_m"] < 1e-9


def test_beyondmimic_npz_with_a_wrong_stated_order_warns(tmp_path):
    motion = F.standing_motion(fps=50.0, num_frames=51)
    path = F.write_beyondmimic_npz(tmp_path / "bm.npz", motion, ISAACLAB_JOINT_NAMES, ISAACLAB_BODY_NAMES)
    _, report = import_motion(path, ImportOptions(joint_order="sdk", body_order="mujoco"))
    (warning,) = [w for w in report.warnings if "disagree with forward kinematics" in w]
    assert "bm.npz" in warning and "--joint-order sdk" in warning and "--body-order mujoco" in warning


def test_beyondmimic_npz_order_from_names_files(tmp_path):
    motion = F.standing_motion(fps=50.0, num_frames=21)
    bodies = list(reversed(motion.body_names))
    path = F.write_beyondmimic_npz(tmp_path / "bm.npz", motion, ISAACLAB_JOINT_NAMES, tuple(bodies))
    (tmp_path / "joints.txt").write_text("# isaaclab order\n" + "\n".join(ISAACLAB_JOINT_NAMES) + "\n")
    (tmp_path / "bodies.txt").write_text(", ".join(bodies))
    out, report = import_motion(
        path, ImportOptions(joint_order=str(tmp_path / "joints.txt"), body_order=str(tmp_path / "bodies.txt"))
    )
    assert not report.warnings and any("row 29" in n for n in report.notes)
    np.testing.assert_allclose(out.body_pos_w, motion.body_pos_w, atol=1e-9)


def test_amp_npz_with_shuffled_names_maps_by_name(tmp_path):
    motion = F.standing_motion(fps=30.0, num_frames=31)
    rng = np.random.default_rng(0)
    joints = [motion.joint_names[i] for i in rng.permutation(len(motion.joint_names))]
    bodies = [motion.body_names[i] for i in rng.permutation(len(motion.body_names))]
    path = F.write_amp_npz(tmp_path / "amp.npz", motion, joints, bodies)
    assert detect_format(path)[0] == "npz_isaaclab_amp"
    out, report = import_motion(path, ImportOptions(out_fps=None))
    assert out.fps == 30.0 and not report.warnings
    np.testing.assert_allclose(out.joint_pos, motion.joint_pos, atol=1e-12)
    np.testing.assert_allclose(out.body_pos_w, motion.body_pos_w, atol=1e-9)
    np.testing.assert_allclose(out.body_quat_w, motion.body_quat_w, atol=1e-9)


@pytest.mark.parametrize("use_pose_aa", [False, True])
def test_phc_pickle(tmp_path, use_pose_aa):
    motion = F.standing_motion(fps=30.0, num_frames=31)
    path = F.write_pickle(tmp_path / "phc.pkl", {"0-LAFAN1_walk": F.phc_clip(motion, use_pose_aa=use_pose_aa)})
    assert detect_format(path)[0] == "pkl_phc"
    out, report = import_motion(path, ImportOptions(out_fps=None))
    assert out.fps == 30.0 and out.source["clip"] == "0-LAFAN1_walk" and not report.warnings
    np.testing.assert_allclose(out.joint_pos, motion.joint_pos, atol=1e-6)
    np.testing.assert_allclose(out.body_pos_w, motion.body_pos_w, atol=1e-5)
    assert any("pose_aa" in n for n in report.notes) == use_pose_aa


def test_phc_multi_clip_joblib_file_with_clip_choice(tmp_path):
    a = F.standing_motion(fps=30.0, num_frames=31)
    b = F.standing_motion(fps=30.0, num_frames=16)
    path = F.write_joblib_like(tmp_path / "clips.pkl", {"a": F.phc_clip(a), "b": F.phc_clip(b)})
    out, _ = import_motion(path, ImportOptions(out_fps=None, clip="b"))
    assert out.num_frames == 16
    np.testing.assert_allclose(out.joint_pos, b.joint_pos, atol=1e-6)
    gz = tmp_path / "clips.pkl.gz.pkl"
    gz.write_bytes(gzip.compress(path.read_bytes()))  # joblib compress=('gzip', n)
    out_gz, _ = import_motion(gz, ImportOptions(out_fps=None, clip="a"))
    assert out_gz.num_frames == 31


def test_phc_joblib_dump_by_joblib_itself(tmp_path):
    joblib = pytest.importorskip("joblib", reason="joblib not installed; the joblib layout is covered by write_joblib_like")
    motion = F.standing_motion(fps=30.0, num_frames=31)
    path = tmp_path / "jl.pkl"
    joblib.dump({"clip": F.phc_clip(motion)}, path, compress=3)
    out, _ = import_motion(path, ImportOptions(out_fps=None))
    np.testing.assert_allclose(out.joint_pos, motion.joint_pos, atol=1e-6)


def test_phc_torch_file_is_read_with_weights_only(tmp_path):
    motion = F.standing_motion(fps=30.0, num_frames=31)
    clip = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in F.phc_clip(motion).items()}
    path = tmp_path / "clip.pt"
    torch.save(clip, path)
    out, _ = import_motion(path, ImportOptions(out_fps=None))
    assert out.source["format"] == "pkl_phc"
    np.testing.assert_allclose(out.joint_pos, motion.joint_pos, atol=1e-6)
    misnamed = tmp_path / "clip.pkl"  # torch.save under a pickle name: recognised by the zip signature
    misnamed.write_bytes(path.read_bytes())
    assert import_motion(misnamed, ImportOptions(out_fps=None))[0].num_frames == 31


def test_mimickit_pickle(tmp_path):
    motion = F.standing_motion(fps=30.0, num_frames=31)
    path = F.write_pickle(tmp_path / "mk.pkl", F.mimickit_dict(motion), protocol=2)
    assert detect_format(path)[0] == "pkl_mimickit"
    out, report = import_motion(path, ImportOptions(out_fps=None))
    assert out.source["loop_mode"] == "clamp" and not report.warnings
    np.testing.assert_allclose(out.joint_pos, motion.joint_pos, atol=1e-9)
    np.testing.assert_allclose(out.body_pos_w, motion.body_pos_w, atol=1e-9)
    np.testing.assert_allclose(np.abs(np.sum(out.root_quat_w * motion.root_quat_w, axis=-1)), 1.0, atol=1e-9)
