"""Real motion capture: the importers on real G1 files, the folder convert, the checks and fixes real
clips need (glitches, unfollowable starts). The learn_clips.py pipelines are in test_learn_clips*.py.

Two real clips ship in ``tests/data/real_motions`` (licences beside them); when the project's shared
folder of all fourteen is present (``../shared/data/motions/real``), every one of them is imported too.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from g1_mimic.motion.cli import main as motion_cli
from g1_mimic.motion.format import MotionFormatError, load_motion
from g1_mimic.motion.importers import ImportOptions, convert_motion, import_motion
from g1_mimic.motion.importers._common import fps_from_name
from g1_mimic.motion.repair import JOINT_GLITCH_SPEED
from g1_mimic.motion.safe_pickle import load_pickle
from g1_mimic.robots.g1_constants import ASAP_23DOF_JOINT_NAMES, SDK_JOINT_NAMES, default_joint_pos

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "real_motions"
HANDSUP = DATA / "g1moves_B_HandsUp_29dof_60hz.csv"
ASAP_WALK = DATA / "asap_walk_23dof_30hz.pkl"
SHARED = REPO.parent / "shared" / "data" / "motions" / "real"


def _cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = motion_cli([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _write_like(path: Path, table: np.ndarray) -> Path:
    np.savetxt(path, table, fmt="%.9g", delimiter=",")
    return path


@pytest.mark.parametrize(
    ("name", "fps"),
    [
        ("dance_29dof_60hz.csv", 60.0),
        ("walk-30fps.csv", 30.0),
        ("clip 120Hz v2.csv", 120.0),
        ("take_102.csv", None),
        ("a_30hz_60hz.csv", None),
        ("x_5hz.csv", None),
        ("g1_29dof.csv", None),
    ],
)
def test_frame_rate_from_the_file_name(name, fps):
    assert fps_from_name(Path(name)) == fps


def test_real_lafan_csv_imports_without_format_at_the_rate_of_its_name():
    motion, report = import_motion(HANDSUP, ImportOptions(out_fps=None))
    raw = np.loadtxt(HANDSUP, delimiter=",")
    assert (
        motion.source["format"] == "csv_lafan_xyzw" and motion.fps == 60.0 and motion.num_frames == raw.shape[0] == 442
    )
    assert motion.source["input_fps_origin"] == "file name"
    assert any("60 Hz taken from the file name" in n for n in report.notes)
    np.testing.assert_allclose(motion.joint_pos[:, motion.joint_index(SDK_JOINT_NAMES)], raw[:, 7:], atol=1e-12)
    np.testing.assert_allclose(
        motion.root_quat_w, raw[:, 3:7] / np.linalg.norm(raw[:, 3:7], axis=1, keepdims=True), atol=1e-9
    )
    # 7.35 s at the 50 Hz control rate by default
    at50, _ = import_motion(HANDSUP)
    assert at50.fps == 50.0 and at50.num_frames == 368 and at50.duration == pytest.approx(441 / 60, abs=0.02)


def test_lafan_is_the_default_reading_of_an_undecided_36_column_csv(tmp_path):
    import motion_fixtures as F

    from g1_mimic.motion import quat as Q
    from g1_mimic.motion.importers import detect_format

    # a clip facing ~-x: its x y z w reading is near identity and upright, the feet decide nothing clearly
    rp, rq, jp = F.standing_trajectory(30.0, 31, yaw=3.0)
    path = F.write_csv(tmp_path / "undecided_30hz.csv", rp, Q.xyzw_to_wxyz(rq), jp)
    fmt, why = detect_format(path)
    assert fmt == "csv_lafan_xyzw" and "the default for 36 columns" in why and "--format csv_wxyz" in why
    _, report = import_motion(path, ImportOptions(out_fps=None))
    assert any("Unitree's LAFAN1 layout, quaternion x y z w (the default" in n for n in report.notes)


def test_asap_pickle_reads_its_23_joints_in_asap_order_and_fills_the_wrists():
    clip = next(iter(load_pickle(ASAP_WALK).values()))
    motion, report = import_motion(ASAP_WALK, ImportOptions(out_fps=None))
    assert motion.fps == 30.0 and motion.num_frames == 152 and motion.source["format"] == "pkl_phc"
    np.testing.assert_allclose(motion.joint_pos[:, motion.joint_index(ASAP_23DOF_JOINT_NAMES)], clip["dof"], atol=1e-6)
    # elbows bent ~1 rad while walking: the ASAP order, not Unitree's 23-DoF order, put them there
    assert motion.joint_pos[:, motion.joint_index(["left_elbow_joint"])].mean() > 0.7
    wrists = [n for n in SDK_JOINT_NAMES if "_wrist_" in n]
    assert sorted(motion.source["missing_joints"]["values_rad"]) == sorted(wrists)
    for n in wrists:
        np.testing.assert_array_equal(motion.joint_pos[:, motion.joint_index([n])[0]], default_joint_pos(n))
    assert any("HumanoidVerse/ASAP 23-DoF order" in n for n in report.notes)
    assert any("6 G1 joint(s) absent" in n for n in report.notes)


def test_folder_convert_one_line_per_file_summary_and_no_output_for_the_bad_one(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(HANDSUP, src)
    shutil.copy(ASAP_WALK, src)
    (src / "broken_60hz.csv").write_text("1,2,3\n4,5\n")
    (src / "notes.txt").write_text("not a motion")
    out = tmp_path / "out"
    code, stdout, _ = _cli("convert", src, out, "--quiet")
    lines = stdout.strip().splitlines()
    assert code == 1
    assert len(lines) == 4 and lines[-1] == "2 of 3 file(s) converted; 1 failed; 2 with warnings"
    assert "FAILED broken_60hz.csv" in lines[1] and "line 2" in lines[1]
    assert sorted(p.name for p in out.iterdir()) == ["asap_walk_23dof_30hz.npz", "g1moves_B_HandsUp_29dof_60hz.npz"]
    assert load_motion(out / "g1moves_B_HandsUp_29dof_60hz.npz").num_frames == 368
    code, stdout, _ = _cli("validate", src)
    assert code == 1 and stdout.strip().splitlines()[-1] == "2 of 3 file(s) valid; 1 failed; 2 with warnings"
    # a folder into a .npz is refused before anything is written
    code, _, err = _cli("convert", src, tmp_path / "x.npz")
    assert code == 1 and "must be a folder" in err and not (tmp_path / "x.npz").exists()


def test_joint_glitch_is_reported_and_smoothed(tmp_path):
    raw = np.loadtxt(HANDSUP, delimiter=",")
    j = SDK_JOINT_NAMES.index("right_elbow_joint")
    raw[200:203, 7 + j] += 0.8  # a 3-frame spike: 48 rad/s in and out at 60 Hz
    path = _write_like(tmp_path / "glitch_60hz.csv", raw)
    _, report = import_motion(path, ImportOptions(out_fps=None))
    hits = [w for w in report.warnings if "right_elbow_joint" in w and "jumps" in w]
    assert len(hits) == 1 and "between frames 199 and 200" in hits[0] and "--smooth-glitches" in hits[0]
    fixed, report = import_motion(path, ImportOptions(out_fps=None, smooth_glitches=True))
    assert not [w for w in report.warnings if "jumps" in w]
    col = fixed.joint_pos[:, fixed.joint_index(["right_elbow_joint"])[0]]
    assert np.abs(np.diff(col)).max() * 60.0 < JOINT_GLITCH_SPEED
    original = np.loadtxt(HANDSUP, delimiter=",")[:, 7 + j]
    np.testing.assert_allclose(col[:190], original[:190], atol=1e-9)  # frames away from the span are untouched
    assert any("--smooth-glitches interpolated 1 span(s): right_elbow_joint" in n for n in report.notes)


def test_tpose_start_is_found_and_trimmed_or_blended_from_standing(tmp_path):
    raw = np.loadtxt(HANDSUP, delimiter=",")
    lr, rr = SDK_JOINT_NAMES.index("left_shoulder_roll_joint"), SDK_JOINT_NAMES.index("right_shoulder_roll_joint")
    raw[:20, 7 + lr], raw[:20, 7 + rr] = 1.5, -1.5  # T-pose for 20 frames, then a jump to the clip
    path = _write_like(tmp_path / "tpose_60hz.csv", raw)
    _, report = import_motion(path, ImportOptions(out_fps=None))
    start = [w for w in report.warnings if "the clip starts with" in w]
    assert len(start) == 1 and "a T-pose" in start[0] and "for 20 frame(s)" in start[0] and "--fix-start" in start[0]
    out = tmp_path / "trimmed.npz"
    trimmed, report = convert_motion(path, out, ImportOptions(out_fps=None, fix_start="trim"))
    assert trimmed.num_frames == 442 - 20 and trimmed.source["fix_start"]["dropped_frames"] == 20
    np.testing.assert_allclose(trimmed.joint_pos[0, trimmed.joint_index(SDK_JOINT_NAMES)], raw[20, 7:], atol=1e-9)
    assert not [w for w in report.warnings if "the clip starts with" in w]
    blended, _ = import_motion(path, ImportOptions(out_fps=None, fix_start="blend", blend_s=0.5))
    assert blended.num_frames == 442 - 20 + 30
    standing = np.array([default_joint_pos(n) for n in blended.joint_names])
    np.testing.assert_allclose(blended.joint_pos[0], standing, atol=1e-9)
    np.testing.assert_allclose(blended.joint_pos[30, blended.joint_index(SDK_JOINT_NAMES)], raw[20, 7:], atol=1e-9)
    assert np.abs(np.diff(blended.joint_pos, axis=0)).max() * 60.0 < JOINT_GLITCH_SPEED


def test_trim_options_cut_seconds_and_refuse_an_empty_clip(tmp_path):
    motion, _ = import_motion(HANDSUP, ImportOptions(out_fps=None, trim_start=1.0, trim_end=0.5))
    assert motion.num_frames == 442 - 60 - 30 and motion.source["trimmed_s"] == [1.0, 0.5]
    with pytest.raises(MotionFormatError, match=r"--trim-start 5 / --trim-end 5 s leave 0 of 442 frames"):
        convert_motion(HANDSUP, tmp_path / "none.npz", ImportOptions(trim_start=5.0, trim_end=5.0))
    assert not (tmp_path / "none.npz").exists()


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"the shared folder of fourteen real clips is not here ({SHARED})")
def test_every_shared_real_clip_converts_without_format(tmp_path):
    code, stdout, _ = _cli("convert", SHARED, tmp_path, "--quiet")
    files = [p for p in SHARED.iterdir() if p.suffix in (".csv", ".pkl")]
    assert code == 0, stdout
    assert stdout.strip().splitlines()[-1].startswith(f"{len(files)} of {len(files)} file(s) converted; 0 failed")
    for f in files:
        m = load_motion(tmp_path / f"{f.stem}.npz")
        assert m.fps == 50.0 and 4.0 < m.duration < 33.0, f.name  # 60 Hz names read at 60 Hz (not 30: twice as long)


def test_one_sided_support_is_reported_with_the_foot_and_its_heights(tmp_path):
    # G1 Moves' HandsUp: the right foot hovers 1-2 cm above the floor for the whole clip, the left stands
    _, report = import_motion(HANDSUP, ImportOptions(out_fps=None))
    warned = [w for w in report.warnings if "one-sided support" in w]
    assert len(warned) == 1 and "'right_ankle_roll_link' is within 1 cm of the floor in 0 %" in warned[0]
    assert "'left_ankle_roll_link' is in 100 %" in warned[0]
    # both feet at the same height: no warning
    from g1_mimic.motion.validate import ValidationReport, check_feet

    both = ValidationReport("x.npz")
    check_feet(np.zeros((50, 2)), where="x.npz", report=both)
    assert not both.warnings
    one = ValidationReport("x.npz")
    check_feet(np.stack([np.zeros(50), np.full(50, 0.02)], axis=1), where="x.npz", report=one)
    assert len(one.warnings) == 1 and "median height 2.0 cm, lowest 2.0 cm" in one.warnings[0]


def test_trimming_a_canonical_npz_checks_its_stored_bodies_on_the_kept_frames(tmp_path):
    full = tmp_path / "handsup.npz"
    convert_motion(HANDSUP, full, ImportOptions(out_fps=None))
    trimmed, report = import_motion(full, ImportOptions(out_fps=None, trim_start=1.0))
    assert trimmed.num_frames == 442 - 60
    assert not [w for w in report.warnings if "forward kinematics" in w or "stored" in w]
    np.testing.assert_allclose(trimmed.joint_pos[0], load_motion(full).joint_pos[60], atol=1e-6)


def test_stance_slide_is_reported_and_fix_skating_plants_the_stance_foot(tmp_path):
    """A reference that moves by sliding the foot it stands on: the importer predicts how far a robot whose
    feet hold falls behind, and --fix-skating moves the root so the stance foot stays planted."""
    # HandsUp (standing, feet still) with the whole body sliding forward at 0.3 m/s: the stance foot slides 2.2 m
    table = np.loadtxt(HANDSUP, delimiter=",")
    t = np.arange(len(table)) / 60.0
    table[:, 0] += 0.3 * t
    sliding = _write_like(tmp_path / "sliding_29dof_60hz.csv", table)
    plain, _ = import_motion(HANDSUP, ImportOptions(out_fps=None))
    slid, report = import_motion(sliding, ImportOptions(out_fps=None))
    found = slid.source["stance_slide"]
    assert found["max_offset_m"] == pytest.approx(0.3 * t[-1], abs=0.03) and found["max_offset_at_s"] == pytest.approx(t[-1], abs=0.1)
    assert any("stance-foot slide" in w and "--fix-skating" in w for w in report.warnings)
    # the standing clip itself barely slides: no warning
    assert plain.source["stance_slide"]["max_offset_m"] < 0.01
    # --fix-skating takes the slide out of the root: back where the standing clip has it (within the standing
    # clip's own 2 cm of slide, taken out too), pose and height unchanged
    fixed, report = import_motion(sliding, ImportOptions(out_fps=None, fix_skating=True))
    np.testing.assert_allclose(fixed.root_pos_w[:, :2], plain.root_pos_w[:, :2], atol=0.02)
    np.testing.assert_array_equal(fixed.root_pos_w[:, 2], slid.root_pos_w[:, 2])
    np.testing.assert_array_equal(fixed.joint_pos, slid.joint_pos)
    assert fixed.source["fix_skating"]["max_shift_m"] == pytest.approx(0.3 * t[-1], abs=0.03)
    assert fixed.source["stance_slide"]["max_offset_m"] < 0.01
    assert not any("stance-foot slide" in w for w in report.warnings)
    assert any("--fix-skating: the stance foot slid" in n for n in report.notes)
    # a real walk (ASAP, video -> SMPL -> G1): its stance foot slides 0.69 m, 0.58 m of it forward
    walk, report = import_motion(ASAP_WALK, ImportOptions(out_fps=None))
    assert walk.source["stance_slide"]["slide_m"] == pytest.approx(0.69, abs=0.02)
    assert walk.source["stance_slide"]["max_offset_m"] == pytest.approx(0.58, abs=0.02)
    # the command line
    code, _, err = _cli("convert", ASAP_WALK, tmp_path / "walk.npz", "--fix-skating")
    assert code == 0 and "--fix-skating: the stance foot slid 0.69 m" in err
    assert load_motion(tmp_path / "walk.npz").source["stance_slide"]["max_offset_m"] < 0.05
    # inspect measures it on canonical files too: the published walk's (0.62 m at the converted 50 Hz), none
    # left in the fixed one
    assert _cli("convert", ASAP_WALK, tmp_path / "walk_as_published.npz")[0] == 0
    for name, offset, tol in (("walk_as_published.npz", 0.62, 0.03), ("walk.npz", 0.0, 0.05)):
        code, out, _ = _cli("inspect", tmp_path / name, "--json")
        assert code == 0 and json.loads(out)["stance_slide"]["max_offset_m"] == pytest.approx(offset, abs=tol)


def test_level_feet_brings_the_hovering_foot_down_and_keeps_the_other_in_place(tmp_path):
    from g1_mimic.motion.repair import resting_heights
    from g1_mimic.motion.validate import foot_heights
    from g1_mimic.robots.g1_constants import FEET_BODIES

    def feet(m):
        idx = [m.body_names.index(b) for b in FEET_BODIES]
        h = foot_heights(m.body_pos_w, m.body_quat_w, m.body_names)
        return m.body_pos_w[:, idx], h, resting_heights(h, m.body_pos_w[:, idx, :2], m.fps)

    plain, plain_report = import_motion(HANDSUP, ImportOptions(out_fps=None))
    level, report = import_motion(HANDSUP, ImportOptions(out_fps=None, level_feet=True))
    pos0, _, rest0 = feet(plain)
    pos1, _, rest1 = feet(level)
    # HandsUp rests its right foot ~1.7 cm above its left; afterwards both rest at the left's height
    assert rest0[1] - rest0[0] == pytest.approx(0.017, abs=0.003)
    assert abs(rest1[1] - rest1[0]) < 1e-3
    done = level.source["level_feet"]
    assert done["foot"] == "right_ankle_roll_link" and done["lowered_m"] == pytest.approx(rest0[1] - rest0[0])
    assert done["frames_off"] == 0 and done["max_residual_m"] < 1e-4
    # the left foot stays where it was (its knee bends), the right comes down with the root, the arms are untouched
    np.testing.assert_allclose(pos1[:, 0], pos0[:, 0], atol=1e-4)
    np.testing.assert_allclose(pos1[:, 1, 2], pos0[:, 1, 2] - done["lowered_m"], atol=1e-4)
    np.testing.assert_allclose(level.root_pos_w[:, 2], plain.root_pos_w[:, 2] - done["lowered_m"], atol=1e-9)
    arms = [plain.joint_names.index(n) for n in SDK_JOINT_NAMES[15:]]
    np.testing.assert_array_equal(level.joint_pos[:, arms], plain.joint_pos[:, arms])
    assert any("one-sided support" in w for w in plain_report.warnings)
    assert not any("one-sided support" in w for w in report.warnings)
    assert any("--level-feet: 'right_ankle_roll_link' rested 1.7 cm above" in n for n in report.notes)
    # a clip whose feet already rest level (the levelled one) is left alone, with a note
    level.save(tmp_path / "level.npz")
    again, report2 = import_motion(tmp_path / "level.npz", ImportOptions(out_fps=None, level_feet=True))
    np.testing.assert_allclose(again.joint_pos, level.joint_pos, atol=1e-6)
    assert "level_feet" not in again.source and any("the feet rest level" in n for n in report2.notes)
    # the command line: convert --level-feet writes the levelled clip and says what it did
    code, _, err = _cli("convert", HANDSUP, tmp_path / "cli.npz", "--level-feet")
    assert code == 0 and "--level-feet: 'right_ankle_roll_link' rested 1.7 cm above" in err
    np.testing.assert_allclose(load_motion(tmp_path / "cli.npz").source["level_feet"]["lowered_m"], done["lowered_m"], atol=1e-6)
