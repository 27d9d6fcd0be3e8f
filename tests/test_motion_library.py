"""Tests of :mod:`g1_mimic.motion.library`: interpolation, name mapping, loading and reference-state sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from g1_mimic.motion import quat as Q
from g1_mimic.motion.format import Motion, motion_from_root_and_joints
from g1_mimic.motion.kinematics import g1_kinematics
from g1_mimic.motion.library import MotionLibrary, MotionLibraryError
from g1_mimic.robots.g1_constants import TRACKED_BODIES

J3 = ("j0", "j1", "j2")
B2 = ("pelvis", "hand")
Z = np.array([0.0, 0.0, 1.0])
X = np.array([1.0, 0.0, 0.0])


def make_motion(fps: float, T: int, seed: int = 0) -> Motion:
    """A hand-made clip on joints J3 and bodies B2 with random values and smoothly turning bodies."""
    rng = np.random.default_rng(seed)
    k = np.arange(T, dtype=np.float64)
    quat = np.stack([Q.from_axis_angle(Z, 0.1 * k), Q.from_axis_angle(X, 0.05 * k)], axis=1)  # [T, 2, 4]
    return Motion(
        fps=fps,
        joint_names=J3,
        body_names=B2,
        joint_pos=rng.normal(size=(T, 3)),
        joint_vel=rng.normal(size=(T, 3)),
        body_pos_w=rng.normal(size=(T, 2, 3)),
        body_quat_w=quat,
        body_lin_vel_w=rng.normal(size=(T, 2, 3)),
        body_ang_vel_w=rng.normal(size=(T, 2, 3)),
        root_body="pelvis",
    )


def g1_motion(fps: float, T: int, seed: int) -> Motion:
    """A real G1 clip (MuJoCo FK): a pelvis walking forward and turning, joints swinging."""
    kin = g1_kinematics()
    rng = np.random.default_rng(seed)
    t = np.arange(T) / fps
    phase = rng.uniform(0, 2 * np.pi, size=len(kin.joint_names))
    joint_pos = 0.3 * np.sin(2 * np.pi * 0.7 * t[:, None] + phase[None, :])
    root_pos = np.stack([0.5 * t, 0.1 * np.sin(t), 0.78 + 0.02 * np.cos(3 * t)], axis=1)
    root_quat = Q.from_euler_xyz(0.05 * np.sin(t), 0.02 * t, 0.4 * t)
    return motion_from_root_and_joints(fps, root_pos, root_quat, joint_pos, kin.joint_names)


@pytest.fixture(scope="module")
def g1_clips() -> list[Motion]:
    return [g1_motion(30.0, 25, 0), g1_motion(50.0, 41, 1), g1_motion(60.0, 13, 2)]


def reference_state(m: Motion, t: float, jcols: np.ndarray, brows: np.ndarray) -> dict[str, np.ndarray]:
    """Independent float64 numpy implementation of the 'hold' query semantics."""
    T, fps = m.num_frames, m.fps
    f = min(max(t, 0.0) * fps, T - 1)
    i0 = int(math.floor(f))
    i1 = min(i0 + 1, T - 1)
    a = f - i0
    # The end test uses the float32 duration the library publishes (clip_duration), as the library does.
    moving = 1.0 if t <= float(np.float32((T - 1) / fps)) else 0.0

    def lerp(x: np.ndarray) -> np.ndarray:
        return (1 - a) * x[i0] + a * x[i1]

    return {
        "joint_pos": lerp(m.joint_pos)[jcols],
        "joint_vel": moving * lerp(m.joint_vel)[jcols],
        "body_pos_w": lerp(m.body_pos_w)[brows],
        "body_quat_w": Q.slerp(m.body_quat_w[i0], m.body_quat_w[i1], np.full(m.body_quat_w.shape[1], a))[brows],
        "body_lin_vel_w": moving * lerp(m.body_lin_vel_w)[brows],
        "body_ang_vel_w": moving * lerp(m.body_ang_vel_w)[brows],
    }


def assert_quat_close(a: np.ndarray, b: np.ndarray, atol: float = 1e-5) -> None:
    """Quaternions equal up to sign."""
    dot = np.abs(np.sum(np.asarray(a) * np.asarray(b), axis=-1))
    np.testing.assert_allclose(dot, 1.0, atol=atol)


def one(lib: MotionLibrary, clip: int, t: float):
    return lib.get_state(torch.tensor([clip]), torch.tensor([t], dtype=torch.float32))


# ---------------------------------------------------------------------------------------------
# interpolation
# ---------------------------------------------------------------------------------------------


def hand_clip() -> Motion:
    """fps 10, 5 frames: j0 = 0.1 k, j1 = k^2, j2 = -k; body 0 turns 0.4 rad/frame about z, body 1 1 rad/frame about x."""
    T = 5
    k = np.arange(T, dtype=np.float64)
    m = make_motion(10.0, T)
    m.joint_pos = np.stack([0.1 * k, k**2, -k], axis=1)
    m.joint_vel = np.stack([np.full(T, 1.0), 20 * k, np.full(T, -10.0)], axis=1)
    m.body_quat_w = np.stack([Q.from_axis_angle(Z, 0.4 * k), Q.from_axis_angle(X, 1.0 * k)], axis=1)
    m.body_quat_w[2, 1] *= -1.0  # same rotation, other hemisphere: slerp must take the short arc
    return m


def test_linear_interpolation_and_slerp_hand_values():
    m = hand_clip()
    lib = MotionLibrary([m], J3, B2)
    s = one(lib, 0, 0.13)  # frame 1.3
    np.testing.assert_allclose(s.joint_pos[0].numpy(), [0.13, 1.0 + 0.3 * 3.0, -1.3], atol=1e-5)
    np.testing.assert_allclose(s.joint_vel[0].numpy(), [1.0, 26.0, -10.0], atol=1e-4)
    np.testing.assert_allclose(s.body_pos_w[0].numpy(), 0.7 * m.body_pos_w[1] + 0.3 * m.body_pos_w[2], atol=1e-5)
    s = one(lib, 0, 0.15)  # half-way between frames 1 and 2
    assert_quat_close(s.body_quat_w[0, 0].numpy(), [0.0, 0.0, math.sin(0.3), math.cos(0.3)])
    assert_quat_close(s.body_quat_w[0, 1].numpy(), [math.sin(0.75), 0.0, 0.0, math.cos(0.75)])
    np.testing.assert_allclose(s.body_quat_w.norm(dim=-1).numpy(), 1.0, atol=1e-6)
    # Exactly on a frame: that frame.
    s = one(lib, 0, 0.3)
    np.testing.assert_allclose(s.joint_pos[0].numpy(), m.joint_pos[3], atol=1e-5)
    assert_quat_close(s.body_quat_w[0].numpy(), m.body_quat_w[3])


def test_clamp_before_start_and_hold_after_end():
    m = hand_clip()
    lib = MotionLibrary([m], J3, B2)
    assert lib.clip_duration.tolist() == pytest.approx([0.4])
    s = one(lib, 0, -0.3)
    np.testing.assert_allclose(s.joint_pos[0].numpy(), m.joint_pos[0], atol=1e-6)
    np.testing.assert_allclose(s.joint_vel[0].numpy(), m.joint_vel[0], atol=1e-6)  # frame 0 as recorded
    np.testing.assert_allclose(s.body_lin_vel_w[0].numpy(), m.body_lin_vel_w[0], atol=1e-6)
    s = one(lib, 0, 0.4)  # the last frame itself still moves
    np.testing.assert_allclose(s.joint_vel[0].numpy(), m.joint_vel[4], atol=1e-5)
    for t in (0.45, 3.0):
        s = one(lib, 0, t)
        np.testing.assert_allclose(s.joint_pos[0].numpy(), m.joint_pos[4], atol=1e-6)
        np.testing.assert_allclose(s.body_pos_w[0].numpy(), m.body_pos_w[4], atol=1e-6)
        assert_quat_close(s.body_quat_w[0].numpy(), m.body_quat_w[4])
        for v in (s.joint_vel, s.body_lin_vel_w, s.body_ang_vel_w):
            assert torch.count_nonzero(v) == 0


def test_blend_tail_reaches_default_pose():
    m = hand_clip()
    default = np.array([0.5, -0.5, 1.0])
    lib = MotionLibrary([m], J3, B2, tail_mode="blend", tail_blend_time=0.4, default_joint_pos=default)
    last = m.joint_pos[4]
    s = one(lib, 0, 0.4 + 0.2)  # half-way through the blend
    np.testing.assert_allclose(s.joint_pos[0].numpy(), 0.5 * last + 0.5 * default, atol=1e-5)
    np.testing.assert_allclose(s.joint_vel[0].numpy(), (default - last) / 0.4, atol=1e-4)
    np.testing.assert_allclose(s.body_pos_w[0].numpy(), m.body_pos_w[4], atol=1e-6)  # bodies keep the last pose
    assert_quat_close(s.body_quat_w[0].numpy(), m.body_quat_w[4])
    assert torch.count_nonzero(s.body_lin_vel_w) == 0 and torch.count_nonzero(s.body_ang_vel_w) == 0
    for t in (0.4 + 0.4 + 1e-4, 10.0):
        s = one(lib, 0, t)
        np.testing.assert_allclose(s.joint_pos[0].numpy(), default, atol=1e-5)
        assert torch.count_nonzero(s.joint_vel) == 0
    s = one(lib, 0, 0.25)  # inside the clip: unaffected
    np.testing.assert_allclose(s.joint_pos[0].numpy(), 0.5 * m.joint_pos[2] + 0.5 * m.joint_pos[3], atol=1e-5)
    with pytest.raises(MotionLibraryError, match="default_joint_pos"):
        MotionLibrary([m], J3, B2, tail_mode="blend", tail_blend_time=0.4)


def test_batched_matches_single_and_reference_across_fps(g1_clips):
    kin = g1_kinematics()
    lib = MotionLibrary(g1_clips, kin.joint_names, kin.body_names)
    assert lib.clip_fps.tolist() == [30.0, 50.0, 60.0]
    assert lib.clip_num_frames.tolist() == [25, 41, 13]
    np.testing.assert_allclose(lib.clip_duration.numpy(), [24 / 30, 40 / 50, 12 / 60], rtol=1e-6)
    rng = np.random.default_rng(3)
    N = 1000
    clips = rng.integers(0, 3, size=N)
    dur = lib.clip_duration.numpy()[clips]
    times = rng.uniform(-0.2, 1.2, size=N) * dur
    times[:50] = np.round(times[:50] * 30) / 30  # some exact frame times
    times = times.astype(np.float32)
    batch = lib.get_state(torch.from_numpy(clips), torch.from_numpy(times))
    assert batch.joint_pos.dtype == torch.float32 and batch.body_quat_w.shape == (N, 30, 4)
    idx_j, idx_b = np.arange(29), np.arange(30)
    for n in range(N):
        single = one(lib, int(clips[n]), float(times[n]))
        ref = reference_state(g1_clips[clips[n]], float(times[n]), idx_j, idx_b)
        for key, value in ref.items():
            b = getattr(batch, key)[n].numpy()
            np.testing.assert_array_equal(b, getattr(single, key)[0].numpy(), err_msg=key)
            if key == "body_quat_w":
                assert_quat_close(b, value)
            else:
                np.testing.assert_allclose(b, value, atol=2e-4, err_msg=key)


def test_single_frame_clip_and_mixed_lengths():
    clips = [make_motion(10.0, 5, 0), make_motion(30.0, 31, 1), make_motion(50.0, 1, 2)]
    lib = MotionLibrary(clips, J3, B2, clip_names=["a", "b", "still"])
    np.testing.assert_allclose(lib.clip_duration.numpy(), [0.4, 1.0, 0.0], atol=1e-7)
    assert lib.clip_num_bins.tolist() == [1, 1, 1] and lib.num_frames_total == 37
    s = lib.get_state(torch.tensor([2, 2, 1]), torch.tensor([0.0, 0.7, 0.5]))
    np.testing.assert_allclose(s.joint_pos[:2].numpy(), clips[2].joint_pos[[0, 0]], atol=1e-6)
    assert torch.count_nonzero(s.joint_vel[1]) == 0
    np.testing.assert_allclose(s.joint_pos[2].numpy(), clips[1].joint_pos[15], atol=1e-5)  # 0.5 s at 30 fps
    ids, t = lib.sample(500, torch.Generator().manual_seed(0))
    assert torch.all(t[ids == 2] == 0.0) and torch.all(t <= lib.clip_duration[ids]) and torch.all(t >= 0)


# ---------------------------------------------------------------------------------------------
# name mapping
# ---------------------------------------------------------------------------------------------


def test_shuffled_and_subset_names_permute_columns(g1_clips):
    kin = g1_kinematics()
    canon = MotionLibrary(g1_clips[:1], kin.joint_names, kin.body_names)
    rng = np.random.default_rng(7)
    joints = [kin.joint_names[i] for i in rng.permutation(29)]
    bodies = [TRACKED_BODIES[i] for i in rng.permutation(len(TRACKED_BODIES))]
    shuf = MotionLibrary(g1_clips[:1], joints, bodies)
    assert shuf.joint_names == joints and shuf.body_names == bodies
    ids, times = torch.zeros(20, dtype=torch.long), torch.linspace(-0.1, 1.0, 20)
    a, b = canon.get_state(ids, times), shuf.get_state(ids, times)
    jperm = [kin.joint_names.index(n) for n in joints]
    bperm = [kin.body_names.index(n) for n in bodies]
    torch.testing.assert_close(b.joint_pos, a.joint_pos[:, jperm])
    torch.testing.assert_close(b.joint_vel, a.joint_vel[:, jperm])
    for key in ("body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w"):
        torch.testing.assert_close(getattr(b, key), getattr(a, key)[:, bperm])


def test_missing_names_raise_clear_errors(g1_clips):
    kin = g1_kinematics()
    with pytest.raises(MotionLibraryError, match=r"clip 'walk'.*'joint_names' lacks joint\(s\) \['ghost_joint'\]"):
        MotionLibrary(g1_clips[:1], [*kin.joint_names, "ghost_joint"], kin.body_names, clip_names=["walk"])
    with pytest.raises(MotionLibraryError, match=r"'body_names' lacks body\(ies\) \['tail_link'\]"):
        MotionLibrary(g1_clips[:1], kin.joint_names, ["pelvis", "tail_link"])
    with pytest.raises(MotionLibraryError, match="more than once"):
        MotionLibrary(g1_clips[:1], ["left_knee_joint", "left_knee_joint"], ["pelvis"])


# ---------------------------------------------------------------------------------------------
# from_path
# ---------------------------------------------------------------------------------------------


def test_from_path_file_folder_and_yaml_weights(tmp_path):
    make_motion(10.0, 21, 0).save(tmp_path / "b.npz")
    make_motion(25.0, 11, 1).save(tmp_path / "a.npz")
    (tmp_path / "notes.txt").write_text("not a motion")
    lib = MotionLibrary.from_path(tmp_path / "b.npz", J3, B2)
    assert lib.num_clips == 1 and lib.clip_names == ["b"]
    np.testing.assert_allclose(lib.clip_duration.numpy(), [2.0])

    lib = MotionLibrary.from_path(tmp_path, J3, B2)
    assert lib.clip_names == ["a", "b"]
    np.testing.assert_allclose(lib.clip_duration.numpy(), [0.4, 2.0], atol=1e-7)

    (tmp_path / "sub").mkdir()
    (tmp_path / "list.yaml").write_text("motions:\n  - file: a.npz\n  - file: b.npz\n    weight: 3.0\n")
    lib = MotionLibrary.from_path(tmp_path / "list.yaml", J3, B2, sampling="uniform")
    assert lib.clip_names == ["a", "b"] and lib.clip_weights.tolist() == [1.0, 3.0]
    np.testing.assert_allclose(lib.clip_probs().numpy(), [0.25, 0.75])
    for sampling in ("uniform", "adaptive"):
        lib = MotionLibrary.from_path(tmp_path / "list.yaml", J3, B2, sampling=sampling)
        ids, _ = lib.sample(20000, torch.Generator().manual_seed(1))
        frac = ids.float().mean().item()
        assert abs(frac - 0.75) < 0.015, (sampling, frac)  # 5 sigma = 0.015


def _write(path, text: str):
    path.write_text(text)
    return path


def test_from_path_errors(tmp_path):
    make_motion(10.0, 11).save(tmp_path / "a.npz")
    with pytest.raises(FileNotFoundError, match=r"nope\.npz: no such motion file, folder or \.yaml"):
        MotionLibrary.from_path(tmp_path / "nope.npz", J3, B2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MotionLibraryError, match=r"empty: folder holds no \.npz motion files.*scripts/motion.py"):
        MotionLibrary.from_path(tmp_path / "empty", J3, B2)
    bad = _write(tmp_path / "bad.yaml", "clips:\n  - file: a.npz\n")
    with pytest.raises(MotionLibraryError, match=r"(?s)bad\.yaml: missing top-level field 'motions'.*weight: 2\.0"):
        MotionLibrary.from_path(bad, J3, B2)
    neg = _write(tmp_path / "neg.yaml", "motions:\n  - file: a.npz\n  - file: a.npz\n    weight: -1\n")
    with pytest.raises(MotionLibraryError, match=r"neg\.yaml: motions\[1\]\.weight: weight -1 is invalid.*>= 0"):
        MotionLibrary.from_path(neg, J3, B2)
    nan = _write(tmp_path / "nan.yml", "motions:\n  - file: a.npz\n    weight: .nan\n")
    with pytest.raises(MotionLibraryError, match=r"nan\.yml: motions\[0\]\.weight: weight nan is invalid"):
        MotionLibrary.from_path(nan, J3, B2)
    gone = _write(tmp_path / "gone.yaml", "motions:\n  - file: missing.npz\n")
    with pytest.raises(MotionLibraryError, match=r"motions\[0\]\.file: .*missing\.npz does not exist"):
        MotionLibrary.from_path(gone, J3, B2)
    with pytest.raises(
        MotionLibraryError, match=r"a\.npz: field 'joint_names' lacks joint\(s\) \['ghost'\].*re-convert"
    ):
        MotionLibrary.from_path(tmp_path / "a.npz", [*J3, "ghost"], B2)
    with pytest.raises(MotionLibraryError, match=r"weights in the yaml"):
        MotionLibrary.from_path(_write(tmp_path / "ok.yaml", "motions: [a.npz]\n"), J3, B2, weights=[1.0])
    with pytest.raises(MotionLibraryError, match="all clip weights are 0"):
        MotionLibrary([make_motion(10.0, 3)], J3, B2, weights=[0.0])


# ---------------------------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------------------------


def expected_bin_probs(ema: np.ndarray, uniform_ratio=0.1, lam=0.8, size=3) -> np.ndarray:
    raw = ema + uniform_ratio / len(ema)
    kernel = lam ** np.arange(size)
    out = np.array([sum(kernel[i] * raw[min(k + i, len(ema) - 1)] for i in range(size)) for k in range(len(ema))])
    return out / out.sum()


def test_adaptive_sampling_moves_mass_to_failing_bin_and_the_bins_before():
    clip = make_motion(10.0, 51)  # 5 s -> five 1-s bins
    lib = MotionLibrary([clip], J3, B2)
    uni = MotionLibrary([clip], J3, B2, sampling="uniform")
    assert lib.clip_num_bins.tolist() == [5]
    np.testing.assert_allclose(lib.bin_probs().numpy(), 0.2, atol=1e-6)
    times = torch.tensor([3.0, 3.2, 3.5, 3.9, 3.99] * 2 + [0.5, 1.5, 4.5, 5.0, 7.0])
    failed = torch.tensor([True] * 10 + [False] * 5)
    for library in (lib, uni):
        library.update_failures(torch.zeros(15, dtype=torch.long), times, failed)
    ema = np.array([0, 0, 0, 0.001 * 10, 0])
    np.testing.assert_allclose(lib.bin_failure_ema.numpy(), ema, atol=1e-7)
    p = lib.bin_probs().numpy()
    np.testing.assert_allclose(p, expected_bin_probs(ema), atol=1e-6)
    assert p[3] > p[2] > p[1] > p[0] and p[0] == pytest.approx(p[4])
    # Sampled start times follow the bin probabilities.
    _, t = lib.sample(40000, torch.Generator().manual_seed(2))
    hist = np.bincount(np.minimum(t.numpy().astype(int), 4), minlength=5) / 40000
    np.testing.assert_allclose(hist, p, atol=0.012)
    # Uniform mode ignores the failures.
    _, t = uni.sample(40000, torch.Generator().manual_seed(2))
    hist = np.bincount(np.minimum(t.numpy().astype(int), 4), minlength=5) / 40000
    np.testing.assert_allclose(hist, 0.2, atol=0.012)
    assert float(t.min()) >= 0.0 and float(t.max()) <= 5.0
    # Every call decays all bins.
    lib.update_failures(torch.zeros(0, dtype=torch.long), torch.zeros(0), torch.zeros(0, dtype=torch.bool))
    np.testing.assert_allclose(lib.bin_failure_ema.numpy(), ema * 0.999, atol=1e-7)
    state = lib.sampling_state()
    assert state["clip/clip_0/top1_bin_time"] == pytest.approx(3.0)
    assert state["adaptive/top1_prob"] == pytest.approx(lib.bin_probs().max().item(), abs=1e-7)
    assert 0.0 < state["adaptive/entropy"] < 1.0


def test_adaptive_bins_do_not_leak_across_clips():
    lib = MotionLibrary([make_motion(10.0, 31, 0), make_motion(20.0, 61, 1)], J3, B2, adaptive_alpha=0.5)
    assert lib.clip_num_bins.tolist() == [3, 3] and lib.clip_bin_start.tolist() == [0, 3]
    lib.update_failures(torch.tensor([1, 1, 1]), torch.tensor([0.1, 0.2, 0.3]), torch.tensor([True, True, True]))
    p = lib.bin_probs().numpy()
    np.testing.assert_allclose(p[:3], 1 / 3, atol=1e-6)  # clip 0 untouched
    np.testing.assert_allclose(p[3:], expected_bin_probs(np.array([1.5, 0.0, 0.0])), atol=1e-6)
    assert p[3:].sum() == pytest.approx(1.0)
    ids, t = lib.sample(20000, torch.Generator().manual_seed(4))
    assert abs(ids.float().mean().item() - 0.5) < 0.02  # the clip marginal stays at the static weights
    frac_first_bin = (t[ids == 1] < 1.0).float().mean().item()
    assert abs(frac_first_bin - p[3]) < 0.02


def test_success_rate_weighting_favours_failing_clip():
    clips = [make_motion(10.0, 21, 0), make_motion(10.0, 21, 1)]
    lib = MotionLibrary(clips, J3, B2, clip_names=["hard", "easy"], clip_weighting="success_rate")
    static = MotionLibrary(clips, J3, B2, clip_names=["hard", "easy"])
    np.testing.assert_allclose(lib.clip_probs().numpy(), [0.5, 0.5])
    ids = torch.tensor([0, 1] * 50)
    failed = ids == 0
    times = torch.full((100,), 1.0)
    for library in (lib, static):
        library.update_failures(ids, times, failed)
    keep = 0.99**50
    s = np.array([0.5 * keep, 0.5 * keep + (1 - keep)])
    np.testing.assert_allclose(lib.clip_success_rate.numpy(), s, atol=1e-6)
    expected = (1 - s) / (1 - s).sum()
    np.testing.assert_allclose(lib.clip_probs().numpy(), expected, atol=1e-6)
    assert expected[0] > 0.65
    np.testing.assert_allclose(static.clip_probs().numpy(), [0.5, 0.5])
    sampled, _ = lib.sample(20000, torch.Generator().manual_seed(5))
    assert abs((sampled == 0).float().mean().item() - expected[0]) < 0.02
    # A clip that always succeeds keeps the floor share: factor max(1 - s, 0.1).
    for _ in range(20):
        lib.update_failures(ids, times, failed)
    f = np.maximum(1 - lib.clip_success_rate.numpy(), 0.1)
    assert f[1] == pytest.approx(0.1)
    np.testing.assert_allclose(lib.clip_probs().numpy(), f / f.sum(), atol=1e-6)
    state = lib.sampling_state()
    assert state["clip/hard/prob"] == pytest.approx(f[0] / f.sum(), abs=1e-6)
    assert state["clip/easy/success_rate"] > 0.99 and state["sampling/success_rate_min"] < 0.01
    assert lib.clip_episode_count.tolist() == [1050, 1050] and lib.clip_failure_count.tolist() == [1050, 0]
    # The sampling state round-trips.
    saved = lib.sampling_state_tensors()
    other = MotionLibrary(clips, J3, B2, clip_names=["hard", "easy"], clip_weighting="success_rate")
    other.load_sampling_state_tensors(saved)
    torch.testing.assert_close(other.clip_probs(), lib.clip_probs())


# ---------------------------------------------------------------------------------------------
# devices
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "device",
    [
        "cpu",
        pytest.param(
            "cuda",
            marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device in this environment"),
        ),
    ],
)
def test_device(device, g1_clips):
    kin = g1_kinematics()
    cpu = MotionLibrary(g1_clips, kin.joint_names, TRACKED_BODIES)
    lib = MotionLibrary(g1_clips, kin.joint_names, TRACKED_BODIES, device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    ids = torch.tensor([0, 1, 2, 1], device=device)
    times = torch.tensor([0.11, 0.5, 3.0, -1.0], device=device)
    failed = torch.tensor([True, False, True, False], device=device)
    if device == "cuda":
        torch.cuda.set_sync_debug_mode("error")  # the hot path must not synchronise with the host
    try:
        state = lib.get_state(ids, times)
        lib.update_failures(ids, times, failed)
        sampled_ids, sampled_t = lib.sample(64, gen)
    finally:
        if device == "cuda":
            torch.cuda.set_sync_debug_mode("default")
    assert state.joint_pos.device.type == device and sampled_ids.device.type == device
    assert sampled_t.dtype == torch.float32 and sampled_ids.dtype == torch.long
    ref = cpu.get_state(ids.cpu(), times.cpu())
    for key in ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w"):
        torch.testing.assert_close(getattr(state, key).cpu(), getattr(ref, key), atol=1e-5, rtol=1e-5)
    assert set(lib.sampling_state()) >= {"clip/clip_0/success_rate", "clip/clip_2/prob", "adaptive/entropy"}


def test_clip_and_start_time_samplers_on_their_own():
    """The two samplers of the split library, without clips: values of weights, EMAs, counts and bins."""
    import numpy as np

    from g1_mimic.motion.sampling import ClipSampler, StartTimeSampler

    clips = ClipSampler(["a", "b"], weights=[1.0, 3.0], clip_weighting="success_rate", success_alpha=0.5, success_floor=0.1)
    assert torch.allclose(clips.probs(), torch.tensor([0.25, 0.75]))  # both at success 0.5: the weights decide
    # two successes of a, one failure of b: s_a = 0.25 * 0.5 + 0.75 * 1 = 0.875, s_b = 0.5 * 0.5 = 0.25
    clips.update(torch.tensor([0, 0, 1]), torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(clips.clip_success_rate, torch.tensor([0.875, 0.25]))
    assert clips.clip_episode_count.tolist() == [2, 1] and clips.clip_failure_count.tolist() == [0, 1]
    f = torch.tensor([1.0 * 0.125, 3.0 * 0.75])
    assert torch.allclose(clips.probs(), f / f.sum())
    with pytest.raises(MotionLibraryError, match="all clip weights are 0"):
        ClipSampler(["a"], weights=[0.0])

    starts = StartTimeSampler(np.array([2.5, 1.0]), bin_duration=1.0, adaptive_alpha=1.0, adaptive_kernel_size=1)
    assert starts.clip_num_bins.tolist() == [3, 1] and starts.clip_bin_start.tolist() == [0, 3]
    assert torch.allclose(starts.clip_bin_width, torch.tensor([2.5 / 3, 1.0]))
    assert starts.time_to_bin(torch.tensor([0, 0, 0, 1]), torch.tensor([0.0, 1.0, 9.0, 0.5])).tolist() == [0, 1, 2, 3]
    starts.update(torch.tensor([0]), torch.tensor([2.0]), torch.tensor([1.0]))  # a failure in clip 0's last bin
    assert starts.bin_failure_ema.tolist() == [0.0, 0.0, 1.0, 0.0]
    p = starts.bin_probs()
    u = 0.1 / 3
    assert torch.allclose(p[:3], torch.tensor([u, u, 1 + u]) / (1 + 3 * u)) and float(p[3]) == 1.0


def test_clip_error_ema_is_set_by_the_first_report_then_blended():
    """Per-clip error EMA: unknown (NaN) until reported, then the same EMA rate as the success rate."""
    from g1_mimic.motion.sampling import ClipSampler

    clips = ClipSampler(["a", "b", "c"], success_alpha=0.5)
    assert torch.isnan(clips.clip_error).all()
    clips.update(torch.tensor([0, 0, 1]), torch.tensor([0.0, 1.0, 0.0]), errors=torch.tensor([0.1, 0.3, 0.05]))
    assert clips.clip_error[:2].tolist() == pytest.approx([0.2, 0.05]) and math.isnan(clips.clip_error[2].item())
    # one more episode of a: keep = 0.5, a = 0.5 * 0.2 + 0.5 * 0.4; b untouched; no errors given: unchanged
    clips.update(torch.tensor([0]), torch.tensor([0.0]), errors=torch.tensor([0.4]))
    clips.update(torch.tensor([1]), torch.tensor([1.0]))
    assert clips.clip_error[:2].tolist() == pytest.approx([0.3, 0.05])

    lib = MotionLibrary([make_motion(10.0, 21, 0), make_motion(10.0, 21, 1)], J3, B2, clip_names=["hard", "easy"])
    lib.update_failures(torch.tensor([0, 0]), torch.tensor([0.5, 1.0]), torch.tensor([True, True]), torch.tensor([0.2, 0.4]))
    state = lib.sampling_state()
    assert state["clip/hard/error"] == pytest.approx(0.3) and "clip/easy/error" not in state
    saved = lib.sampling_state_tensors()
    other = MotionLibrary([make_motion(10.0, 21, 0), make_motion(10.0, 21, 1)], J3, B2, clip_names=["hard", "easy"])
    other.load_sampling_state_tensors(saved)
    assert other.clip_error[0].item() == pytest.approx(0.3)
    # a state saved before the error EMA existed loads and leaves the errors unknown
    del saved["clip_error"]
    fresh = MotionLibrary([make_motion(10.0, 21, 0), make_motion(10.0, 21, 1)], J3, B2, clip_names=["hard", "easy"])
    fresh.load_sampling_state_tensors(saved)
    assert torch.isnan(fresh.clip_error).all() and fresh.clip_episode_count.tolist() == [2, 0]


def test_clip_table_shows_each_clips_success_error_and_share():
    """The per-clip console table of a multi-clip training run (g1_mimic.rl.train_loop.clip_table)."""
    from g1_mimic.rl.train_loop import clip_table

    lib = MotionLibrary(
        [make_motion(10.0, 21, 0), make_motion(10.0, 21, 1)], J3, B2, clip_names=["dance", "walk_long_name"],
        clip_weighting="success_rate",
    )
    lib.update_failures(torch.tensor([0, 0, 1]), torch.tensor([1.0, 2.0, 1.0]), torch.tensor([True, False, False]),
                        torch.tensor([0.12, 0.08, 0.031]))
    lines = clip_table(lib, 42)
    p = lib.clip_probs().tolist()
    s = lib.clip_success_rate.tolist()
    assert lines[0].startswith("[train] clips at iteration 42")
    assert lines[1] == f"[train]   dance           success {s[0]:4.2f}  error 10.0 cm  sampled {100 * p[0]:3.0f} %"
    assert lines[2] == f"[train]   walk_long_name  success {s[1]:4.2f}  error  3.1 cm  sampled {100 * p[1]:3.0f} %"
    assert s[0] < s[1] and p[0] > p[1]  # the failing clip is sampled more
