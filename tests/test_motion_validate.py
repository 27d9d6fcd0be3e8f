"""Every validation rule: a bad file is rejected with a message naming file, field and frame, and
nothing is written; warnings leave a usable output. Also the restricted unpickler."""

from __future__ import annotations

import collections
import gzip
import os
import pickle

import motion_fixtures as F
import numpy as np
import pytest
import torch

from g1_mimic.motion.format import MotionFormatError, load_motion
from g1_mimic.motion.importers import ImportOptions, convert_motion, import_motion
from g1_mimic.motion.kinematics import g1_kinematics
from g1_mimic.motion.safe_pickle import UnsafePickleError, load_pickle, load_pickle_bytes, load_torch
from g1_mimic.motion.validate import describe_frames
from g1_mimic.robots.g1_constants import SDK_JOINT_NAMES

KNEE = SDK_JOINT_NAMES.index("left_knee_joint")


def _table(num_frames: int = 31) -> np.ndarray:
    """LAFAN1-layout rows (root xyz, quat xyzw, 29 joints) of the standing clip at 30 Hz."""
    rp, rq, jp = F.standing_trajectory(30.0, num_frames)
    return np.concatenate([rp, rq, jp], axis=1)


def _write(path, table: np.ndarray):
    np.savetxt(path, table, fmt="%.9g", delimiter=",")
    return path


def _rejected(tmp_path, src, parts: list[str], **options) -> str:
    """Convert ``src``; assert it raises with every string of ``parts`` in the message and writes nothing."""
    out = tmp_path / "out" / "motion.npz"
    with pytest.raises(MotionFormatError) as info:
        convert_motion(src, out, ImportOptions(**options))
    message = str(info.value)
    for part in parts:
        assert part in message, f"{part!r} not in: {message}"
    assert not out.exists()
    assert not (out.parent.exists() and any(out.parent.iterdir()))
    return message


def _accepted(tmp_path, src, **options):
    out = tmp_path / "ok.npz"
    motion, report = convert_motion(src, out, ImportOptions(**options))
    assert out.exists()
    return motion, report


def test_describe_frames_compresses_ranges_and_names_csv_lines():
    assert describe_frames([3, 7, 8, 9]) == "frames 3, 7-9 (4 frames)"
    assert describe_frames([5], lines=np.arange(1, 10)) == "frame 5 (1 frame; CSV line 6)"


# ---------------------------------------------------------------------------------------------- layout


def test_wrong_column_count(tmp_path):
    src = _write(tmp_path / "short.csv", _table()[:, :35])
    _rejected(tmp_path, src, ["short.csv", "35 columns matches no known layout", "36 columns = csv_lafan_xyzw"])
    _rejected(tmp_path, src, ["short.csv", "wrong column count: 35 columns, expected 36", "csv_lafan_xyzw"], format="csv_lafan_xyzw")
    lafan = _write(tmp_path / "lafan.csv", _table())
    _rejected(tmp_path, lafan, ["lafan.csv", "36 columns, expected 30", "looks like csv_lafan_xyzw"], format="csv_23dof")


def test_ragged_row(tmp_path):
    src = _write(tmp_path / "ragged.csv", _table())
    lines = src.read_text().splitlines()
    lines[4] = ",".join(lines[4].split(",")[:-1])
    src.write_text("\n".join(lines) + "\n")
    _rejected(tmp_path, src, ["ragged.csv", "line 5 (frame 4) has 35 columns", "first row has 36"])


def test_non_numeric_cell_and_header(tmp_path):
    src = _write(tmp_path / "text.csv", _table())
    lines = src.read_text().splitlines()
    cells = lines[2].split(",")
    cells[8] = "abc"
    lines[2] = ",".join(cells)
    src.write_text("\n".join(lines) + "\n")
    _rejected(tmp_path, src, ["text.csv", "line 3 (frame 2), column 9", "'abc' is not a number"])
    header = _write(tmp_path / "header.csv", _table())
    header.write_text("x,y,z,qx,qy,qz,qw," + ",".join(SDK_JOINT_NAMES) + "\n" + header.read_text())
    _rejected(tmp_path, header, ["header.csv", "line 1 is a header", "no header row"])


def test_unknown_suffix_and_unknown_npz_layout(tmp_path):
    odd = _write(tmp_path / "clip.bvh", _table())
    _rejected(tmp_path, odd, ["clip.bvh", "suffix '.bvh'", "--format"])
    npz = tmp_path / "other.npz"
    np.savez(npz, positions=np.zeros((3, 3)))
    _rejected(tmp_path, npz, ["other.npz", "unrecognised .npz layout", "positions"])


# ---------------------------------------------------------------------------------------------- values


def test_nan_joint_angle(tmp_path):
    table = _table()
    table[7, 7 + KNEE] = np.nan
    src = _write(tmp_path / "nan.csv", table)
    _rejected(tmp_path, src, ["nan.csv", "field 'joint angles (columns 8-)'", "NaN", "left_knee_joint", "frame 7", "CSV line 8"])


def test_infinite_root_position(tmp_path):
    table = _table()
    table[[3, 4, 5], 2] = np.inf
    src = _write(tmp_path / "inf.csv", table)
    _rejected(tmp_path, src, ["inf.csv", "root position (columns 1-3)", "infinite", "column(s) z", "frames 3-5"])


def test_non_unit_quaternion_is_rejected_when_far_off(tmp_path):
    table = _table()
    table[4, 3:7] *= 2.0
    src = _write(tmp_path / "norm.csv", table)
    _rejected(tmp_path, src, ["norm.csv", "root quaternion (columns 4-7, x y z w)", "not a unit quaternion", "frame 4", "|q| = 2"], format="csv_lafan_xyzw")


def test_slightly_non_unit_quaternion_is_renormalised_with_a_warning(tmp_path):
    table = _table()
    table[6:9, 3:7] *= 1.01
    table[10, 3:7] *= 1.0005  # within 1e-3: silent
    motion, report = _accepted(tmp_path, _write(tmp_path / "norm.csv", table), format="csv_lafan_xyzw", out_fps=30.0)
    (warning,) = report.warnings
    assert "norm.csv" in warning and "renormalised" in warning and "frames 6-8 (3 frames" in warning
    np.testing.assert_allclose(np.linalg.norm(load_motion(tmp_path / "ok.npz").body_quat_w, axis=-1), 1.0, atol=1e-6)
    clean, _ = import_motion(_write(tmp_path / "clean.csv", _table()), ImportOptions(format="csv_lafan_xyzw", out_fps=30.0))
    np.testing.assert_allclose(motion.body_pos_w, clean.body_pos_w, atol=1e-9)


def test_quaternion_sign_flips_are_fixed_and_counted(tmp_path):
    table = _table()
    table[10:13, 3:7] *= -1.0
    motion, report = _accepted(tmp_path, _write(tmp_path / "flip.csv", table), format="csv_lafan_xyzw", out_fps=30.0)
    (note,) = [n for n in report.notes if "sign flips" in n]
    assert "flip.csv" in note and "frames 10-12 (3 frames; CSV lines 11-13)" in note
    assert not report.warnings
    clean, _ = import_motion(_write(tmp_path / "clean.csv", _table()), ImportOptions(format="csv_lafan_xyzw", out_fps=30.0))
    np.testing.assert_allclose(motion.body_quat_w, clean.body_quat_w, atol=1e-12)
    np.testing.assert_allclose(motion.body_ang_vel_w, clean.body_ang_vel_w, atol=1e-9)


def test_upside_down_root_warns_about_the_quaternion_order(tmp_path):
    rp, rq, jp = F.standing_trajectory(30.0, 31)
    src = F.write_csv(tmp_path / "wxyz.csv", rp, rq, jp, order="wxyz")
    motion, report = _accepted(tmp_path, src, format="csv_lafan_xyzw")  # wrong order stated
    assert any("upside down" in w and "--format csv_wxyz" in w for w in report.warnings)


# ---------------------------------------------------------------------------------------------- joints


def test_joint_limits_warn_by_default_and_clamp_on_request(tmp_path):
    upper = g1_kinematics().joint_limits[KNEE, 1]
    table = _table()
    table[5:7, 7 + KNEE] = upper + 0.2
    src = _write(tmp_path / "limits.csv", table)
    motion, report = _accepted(tmp_path, src, out_fps=30.0)
    # the jump into and out of the violation (~80 rad/s) is reported separately (real-capture glitch check)
    (warning,) = [w for w in report.warnings if "by up to" in w]
    assert any("jumps" in w and "left_knee_joint" in w for w in report.warnings)
    for part in ("limits.csv", "field 'joint_pos'", "left_knee_joint", "by up to 0.200 rad", "frames 5-6", "--clamp-limits"):
        assert part in warning
    assert motion.joint_pos[5, KNEE] == pytest.approx(upper + 0.2)
    clamped, report = import_motion(src, ImportOptions(out_fps=30.0, clamp_limits=True))
    assert any("clamped to the limits" in w for w in report.warnings)
    assert clamped.joint_pos[5:7, KNEE] == pytest.approx([upper, upper])
    assert clamped.source["clamped_joints"] == {"left_knee_joint": 2}


def test_unknown_and_missing_joint_names(tmp_path):
    motion = F.standing_motion(fps=30.0, num_frames=31)
    names = list(motion.joint_names)
    names[3] = "left_knee"
    bad = F.write_amp_npz(tmp_path / "amp_bad.npz", motion, list(motion.joint_names), list(motion.body_names))
    data = dict(np.load(bad))
    data["dof_names"] = np.array(names)
    np.savez(bad, **data)
    _rejected(tmp_path, bad, ["amp_bad.npz", "field 'dof_names'", "unknown joint name(s) ['left_knee']", "Known G1 joints", "left_knee_joint"])
    partial = F.write_amp_npz(tmp_path / "amp_partial.npz", motion, names[4:], list(motion.body_names))
    msg = _rejected(tmp_path, partial, ["amp_partial.npz", "field 'dof_positions'", "lacks G1 joint(s)", "--missing-joints"])
    assert "left_hip_pitch_joint" in msg
    filled, report = import_motion(partial, ImportOptions(missing_joints="zero", out_fps=None))
    assert filled.source["missing_joints"]["policy"] == "zero"
    assert filled.joint_pos[:, :4] == pytest.approx(np.zeros((31, 4)))


def test_stated_order_of_the_wrong_length(tmp_path):
    motion = F.standing_motion(fps=30.0, num_frames=11)
    src = F.write_beyondmimic_npz(tmp_path / "bm.npz", motion, SDK_JOINT_NAMES[:23], tuple(motion.body_names))
    _rejected(tmp_path, src, ["bm.npz", "field 'joint_pos' has 23 columns", "--joint-order sdk names 29"], joint_order="sdk", body_order="mujoco")
    _rejected(tmp_path, src, ["bm.npz", "store no joint or body names", "--joint-order", "--body-order"])


# ---------------------------------------------------------------------------------------------- rates and lengths


def test_fps_missing_or_absurd(tmp_path):
    motion = F.standing_motion(fps=30.0, num_frames=31)
    clip = F.phc_clip(motion)
    del clip["fps"]
    src = F.write_pickle(tmp_path / "nofps.pkl", clip)
    _rejected(tmp_path, src, ["nofps.pkl", "field 'fps' is missing", "--fps"])
    _accepted(tmp_path, src, fps=30.0)
    csv = _write(tmp_path / "rate.csv", _table())
    _rejected(tmp_path, csv, ["rate.csv", "'--fps' is 5000 Hz", "[1, 1000]"], fps=5000.0)
    _rejected(tmp_path, csv, ["rate.csv", "'--out-fps' is 0.5 Hz"], out_fps=0.5)
    amp = F.write_amp_npz(tmp_path / "zero_fps.npz", motion, list(motion.joint_names), list(motion.body_names))
    data = dict(np.load(amp))
    data["fps"] = np.array(0.0)
    np.savez(amp, **data)
    _rejected(tmp_path, amp, ["zero_fps.npz", "field 'fps' is 0 Hz", "outside the accepted range"])


def test_too_few_frames(tmp_path):
    one = _write(tmp_path / "one.csv", _table(1))
    _rejected(tmp_path, one, ["one.csv", "1 frame(s) in the file", "at least 2 frames"], format="csv_lafan_xyzw")
    two = _write(tmp_path / "two.csv", _table(2))
    _rejected(tmp_path, two, ["two.csv", "1 frame(s) after resampling 2 frames at 30 Hz to 10 Hz"], format="csv_lafan_xyzw", out_fps=10.0)


# ---------------------------------------------------------------------------------------------- ground


def test_root_below_the_floor(tmp_path):
    table = _table()
    table[3:5, 2] = 0.0
    src = _write(tmp_path / "floor.csv", table)
    _rejected(tmp_path, src, ["floor.csv", "root position (columns 1-3)", "below the floor", "frames 3-4", "CSV lines 4-5"])


def test_root_below_the_floor_is_accepted_with_align_ground(tmp_path):
    table = _table()
    table[:, 2] -= F.standing_root_height()  # whole clip 0.76 m too low: pelvis at z = 0
    src = _write(tmp_path / "low.csv", table)
    _rejected(tmp_path, src, ["low.csv", "below the floor", "frames 0-30", "--align-ground"])
    motion, report = _accepted(tmp_path, src, align_ground=True)
    assert not report.warnings
    assert motion.root_pos_w[:, 2] == pytest.approx(np.full(motion.num_frames, F.standing_root_height()), abs=1e-6)


def test_root_teleport_warns(tmp_path):
    table = _table()
    table[20:, 0] += 1.0  # 1 m jump between frames 19 and 20 at 30 Hz = 30 m/s
    _, report = _accepted(tmp_path, _write(tmp_path / "jump.csv", table))
    (warning,) = [w for w in report.warnings if "the root moves" in w]  # the feet skate through the jump too
    assert any("foot skating" in w for w in report.warnings)
    assert "jump.csv" in warning and "30.0 m/s (frames 19-20" in warning and "--fps" in warning


def test_root_in_centimetres(tmp_path):
    table = _table()
    table[:, :3] *= 100.0
    src = _write(tmp_path / "cm.csv", table)
    _rejected(tmp_path, src, ["cm.csv", "root position (columns 1-3)", "centimetres"])


def test_feet_below_the_floor_warn_and_align_ground_fixes_them(tmp_path):
    table = _table()
    table[:, 2] -= 0.05
    src = _write(tmp_path / "sunk.csv", table)
    _, report = _accepted(tmp_path, src)
    (warning,) = report.warnings
    assert "sunk.csv" in warning and "feet below the floor" in warning and "frames 0-30" in warning and "5.0 cm" in warning
    aligned, report = import_motion(src, ImportOptions(align_ground=True))
    assert not report.warnings and aligned.source["ground_offset_m"] == pytest.approx(0.05, abs=1e-6)
    assert aligned.root_pos_w[:, 2] == pytest.approx(np.full(aligned.num_frames, F.standing_root_height()), abs=1e-6)


def test_feet_far_above_the_floor_warn(tmp_path):
    table = _table()
    table[:, 2] += 0.2
    _, report = _accepted(tmp_path, _write(tmp_path / "float.csv", table))
    (warning,) = report.warnings
    assert "float.csv" in warning and "never touch the floor" in warning and "20.0 cm" in warning


# ---------------------------------------------------------------------------------------------- pickles


class _Custom:
    def __init__(self):
        self.x = 1


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code_and_custom_classes(tmp_path):
    marker = tmp_path / "pwned"
    evil = F.write_pickle(tmp_path / "evil.pkl", {"fps": 30, "frames": _Exploit(marker)})
    with pytest.raises(UnsafePickleError, match=r"evil\.pkl: refusing to unpickle '(posix|os|nt)\.system'"):
        load_pickle(evil)
    assert not marker.exists()
    _rejected(tmp_path, evil, ["evil.pkl", "refusing to unpickle", "system"])
    assert not marker.exists()
    custom = F.write_pickle(tmp_path / "custom.pkl", _Custom())
    with pytest.raises(UnsafePickleError, match=r"custom\.pkl: refusing to unpickle '.*_Custom'"):
        load_pickle(custom)
    eval_pickle = b"cbuiltins\neval\n(S'1+1'\ntR."
    with pytest.raises(UnsafePickleError, match=r"refusing to unpickle 'builtins\.eval'"):
        load_pickle_bytes(eval_pickle, "inline.pkl")


def test_restricted_unpickler_accepts_plain_data(tmp_path):
    data = {
        "list": [1, 2.5, "x", None, True],
        "tuple": (1, 2),
        "set": {1, 2},
        "ordered": collections.OrderedDict(a=1),
        "bytes": b"\x00\xff",
        "array": np.arange(12, dtype=np.float32).reshape(3, 4),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "big_endian": np.arange(3, dtype=">f8"),
        "strings": np.array(["a", "bc"]),
        "scalar": np.float64(1.5),
        "int": np.int64(30),
    }
    for protocol in (2, 4, 5):
        back = load_pickle_bytes(pickle.dumps(data, protocol=protocol), f"proto{protocol}")
        assert back["list"] == data["list"] and back["set"] == {1, 2} and back["ordered"] == {"a": 1}
        assert back["bytes"] == b"\x00\xff" and back["scalar"] == 1.5 and back["int"] == 30
        for key in ("array", "fortran", "big_endian", "strings"):
            np.testing.assert_array_equal(back[key], data[key])
    compressed = tmp_path / "data.pkl"
    compressed.write_bytes(gzip.compress(pickle.dumps(data)))
    np.testing.assert_array_equal(load_pickle(compressed)["array"], data["array"])


def test_lz4_and_torch_objects_are_refused_clearly(tmp_path):
    lz4 = tmp_path / "c.pkl"
    lz4.write_bytes(b"\x04\x22\x4d\x18" + b"\x00" * 16)
    with pytest.raises(MotionFormatError, match=r"c\.pkl: lz4-compressed joblib file"):
        load_pickle(lz4)
    pt = tmp_path / "obj.pt"
    torch.save({"clip": _Custom()}, pt)
    with pytest.raises(UnsafePickleError, match=r"obj\.pt: torch\.load\(weights_only=True\) refused"):
        load_torch(pt)


def test_old_mimickit_motion_object_is_refused(tmp_path):
    src = F.write_pickle(tmp_path / "old_mk.pkl", _Custom())
    msg = _rejected(tmp_path, src, ["old_mk.pkl", "refusing to unpickle", "_Custom"], format="pkl_mimickit")
    assert "plain dicts/arrays" in msg


def test_multi_clip_pickle_needs_a_clip_name(tmp_path):
    motion = F.standing_motion(fps=30.0, num_frames=11)
    src = F.write_pickle(tmp_path / "many.pkl", {"walk": F.phc_clip(motion), "run": F.phc_clip(motion)})
    _rejected(tmp_path, src, ["many.pkl", "holds 2 clips ['walk', 'run']", "--clip NAME"])
    _rejected(tmp_path, src, ["many.pkl", "no clip 'jump'"], clip="jump")


def test_pose_aa_about_the_wrong_axes_is_rejected(tmp_path):
    motion = F.standing_motion(fps=30.0, num_frames=11)
    clip = F.phc_clip(motion, use_pose_aa=True)
    clip["pose_aa"][:, 1:30] = clip["pose_aa"][:, 1:30][:, ::-1]  # joints in reverse order
    src = F.write_pickle(tmp_path / "aa.pkl", clip)
    _rejected(tmp_path, src, ["aa.pkl", "field 'pose_aa'", "is not a rotation about the G1 joint axis", "--joint-order"])
