"""Tests of the offscreen motion renderer (software OpenGL: Debian package ``libosmesa6``)."""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pytest
from PIL import Image

from g1_mimic.motion.format import Motion
from g1_mimic.motion.generate import generate_clip
from g1_mimic.motion.render import (
    BACKEND_PACKAGES,
    RenderBackendError,
    TrackingCamera,
    gl_backend,
    iter_frames,
    render_frame,
    render_motion,
)

_ARRAYS = ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")


def _short_motion(frames: tuple[int, ...] = (100, 110, 120), fps: float = 10.0) -> Motion:
    """Three frames of the wave clip (arm in different places), replayed at ``fps``."""
    wave = generate_clip("wave")
    idx = list(frames)
    kwargs = {k: getattr(wave, k)[idx] for k in _ARRAYS}
    return dataclasses.replace(wave, fps=fps, contact_labels=None, contact_body_names=(), **kwargs)


def _skip_without_gl(exc: RenderBackendError) -> None:
    pytest.skip(
        f"no offscreen OpenGL backend (MUJOCO_GL={gl_backend()}): install {BACKEND_PACKAGES.get(gl_backend(), 'libosmesa6')} "
        f"(apt-get install -y libosmesa6 and MUJOCO_GL=osmesa for CPU rendering). Error: {exc}"
    )


def test_render_gif_of_requested_size(tmp_path):
    motion = _short_motion()
    out = tmp_path / "clip.gif"
    try:
        path = render_motion(motion, out, width=96, height=64)
    except RenderBackendError as exc:
        _skip_without_gl(exc)
    assert path == out and out.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == ["clip.gif"]  # no temp file left behind
    with Image.open(out) as gif:
        assert gif.format == "GIF" and gif.size == (96, 64)
        assert gif.n_frames == 3
        assert gif.info.get("loop") == 0 and gif.info.get("duration") == 100  # 10 Hz
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(np.asarray(gif.convert("RGB"), dtype=np.int16))
    assert frames[0].std() > 10  # not a blank image
    assert np.abs(frames[0] - frames[2]).max() > 0  # the arm moved


def test_render_frame_shows_robot_on_floor_and_ghost():
    motion = _short_motion()
    try:
        img = render_frame(motion, 0.0, width=120, height=90, camera=TrackingCamera(distance=2.0, azimuth=180.0))
        ghost = render_frame(
            motion,
            0.0,
            width=120,
            height=90,
            camera=TrackingCamera(distance=2.0, azimuth=180.0),
            reference=_short_motion(frames=(0, 0, 0)),
        )
    except RenderBackendError as exc:
        _skip_without_gl(exc)
    assert img.shape == (90, 120, 3) and img.dtype == np.uint8
    # Centre column is the robot (light grey), not sky or floor; the image is lit (not black).
    assert img.mean() > 60
    centre = img[20:70, 55:65].astype(float)
    sky = img[:5].astype(float)
    assert np.abs(centre.mean(axis=(0, 1)) - sky.mean(axis=(0, 1))).max() > 5
    assert np.abs(ghost.astype(int) - img.astype(int)).max() > 20  # the translucent reference is drawn


def test_render_rejects_bad_requests(tmp_path):
    motion = _short_motion()
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        render_motion(motion, tmp_path / "clip.avi")
    with pytest.raises(ValueError, match="even"):
        render_motion(motion, tmp_path / "clip.mp4", width=101, height=80)
    with pytest.raises(ValueError, match="GIF frame rate"):
        render_motion(motion, tmp_path / "clip.gif", fps=100.0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is not None, reason="imageio-ffmpeg is installed")
def test_mp4_without_ffmpeg_suggests_gif(tmp_path):
    with pytest.raises(RuntimeError, match=r"imageio-ffmpeg.*\.gif"):
        render_motion(_short_motion(), tmp_path / "clip.mp4", width=96, height=64)


@pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is None, reason="imageio-ffmpeg is not installed")
def test_mp4(tmp_path):
    out = tmp_path / "clip.mp4"
    try:
        render_motion(_short_motion(), out, width=96, height=64)
    except RenderBackendError as exc:
        _skip_without_gl(exc)
    import imageio.v2 as imageio

    with imageio.get_reader(out) as reader:
        assert reader.get_data(0).shape == (64, 96, 3)


def test_user_backend_is_respected(monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "EGL")
    assert gl_backend() == "egl"


def test_render_without_shadows():
    motion = _short_motion()
    cam = TrackingCamera(distance=2.0, azimuth=180.0, elevation=-30.0)
    try:
        lit = next(iter_frames(motion, [0.0], 120, 90, cam)).astype(int)
        flat = next(iter_frames(motion, [0.0], 120, 90, cam, shadows=False)).astype(int)
    except RenderBackendError as exc:
        _skip_without_gl(exc)
    assert np.abs(lit - flat).max() > 20  # the shadow pass changed the image
    assert flat.shape == (90, 120, 3) and flat.mean() > 60 and flat.std() > 10  # still a lit, non-blank scene
    again = next(iter_frames(motion, [0.0], 120, 90, cam, shadows=False)).astype(int)
    assert np.array_equal(flat, again)  # deterministic
