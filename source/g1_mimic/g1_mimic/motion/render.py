"""Offscreen rendering of G1 motions to ``.gif`` / ``.mp4`` with MuJoCo (no GPU or display needed).

The scene is the visual G1 model (:data:`g1_mimic.assets.G1_MJCF`, STL meshes) plus a checker
floor at ``z = 0``, a sky gradient and a shadow-casting light, all added with ``mujoco.MjSpec``.
A tracking camera follows the pelvis. A second motion (``reference``) can be drawn as a
translucent ghost over (or beside) the first, e.g. a policy rollout against its reference clip.

OpenGL backend: MuJoCo picks its GL backend from ``MUJOCO_GL`` when ``mujoco`` is first imported.
A user's ``MUJOCO_GL`` is always respected. When it is unset this module chooses ``glfw`` if a
display is available, else ``egl`` if a GPU device node exists, else ``osmesa`` (software,
Debian/Ubuntu package ``libosmesa6``), and installs that backend's context even if ``mujoco``
was imported before. EGL on a GPU needs ``libegl1`` and the GPU driver's EGL vendor library.

Usage::

    python -m g1_mimic.motion.render MOTION.npz OUTPUT.gif [--width 320 --height 240 --fps 20 --deadband 0.3]
"""

from __future__ import annotations

import argparse
import glob
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from g1_mimic.motion.format import Motion, load_motion

#: Debian/Ubuntu package that provides each headless backend's GL library.
BACKEND_PACKAGES: dict[str, str] = {
    "osmesa": "libosmesa6",
    "egl": "libegl1 (plus the GPU driver's EGL library, or libegl-mesa0 for Mesa)",
    "glfw": "libglfw3 and a running X11/Wayland display",
}
#: Highest GIF frame rate: viewers ignore frame delays below 20 ms.
MAX_GIF_FPS = 50.0
#: Default output frame rate (Hz) when ``fps`` is not given (never above the motion's own rate).
DEFAULT_FPS = {".gif": 20.0, ".mp4": 30.0}


class RenderBackendError(RuntimeError):
    """No working offscreen OpenGL backend; the message names the package to install."""


def _auto_backend() -> str:
    """The backend to use when ``MUJOCO_GL`` is unset: glfw with a display, egl with a GPU, else osmesa."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return "glfw"
    if os.path.exists("/dev/nvidia0") or glob.glob("/dev/dri/renderD*"):
        return "egl"
    return "osmesa"


# Must happen before the first ``import mujoco`` to take effect there; _ensure_backend() covers
# the case where mujoco was imported earlier.
os.environ.setdefault("MUJOCO_GL", _auto_backend())

import mujoco  # noqa: E402

from g1_mimic import assets  # noqa: E402


def gl_backend() -> str:
    """The OpenGL backend this module renders with (``MUJOCO_GL``, lower-cased)."""
    return os.environ.get("MUJOCO_GL", "").strip().lower() or _auto_backend()


def _ensure_backend() -> str:
    """Make MuJoCo's renderer use :func:`gl_backend`'s GL context; return the backend name."""
    backend = gl_backend()
    module = {"osmesa": "mujoco.osmesa", "egl": "mujoco.egl"}.get(backend)
    if module is None:
        return backend
    from mujoco.rendering.classic import gl_context

    current = getattr(gl_context, "GLContext", None)
    if current is None or current.__module__ != module:
        try:
            gl_context.GLContext = importlib.import_module(module).GLContext
        except Exception as exc:  # ImportError, or PyOpenGL failing to load the library
            raise RenderBackendError(_backend_hint(backend, exc)) from exc
    return backend


def _backend_hint(backend: str, exc: BaseException) -> str:
    pkg = BACKEND_PACKAGES.get(backend, "an OpenGL library")
    return (
        f"MuJoCo offscreen rendering with MUJOCO_GL={backend} failed ({type(exc).__name__}: {exc}). "
        f"Install {pkg} (e.g. `apt-get install -y libosmesa6` for software rendering and set MUJOCO_GL=osmesa), "
        "or set MUJOCO_GL to a working backend (osmesa, egl, glfw)."
    )


@dataclass(frozen=True)
class TrackingCamera:
    """A free camera that follows the pelvis.

    Attributes:
        distance: camera distance from the look-at point (m).
        azimuth: MuJoCo azimuth (deg); the robot faces +x, so 180 looks at its front, 150 a
            three-quarter front-right view.
        elevation: MuJoCo elevation (deg); negative looks down.
        height: look-at height (m); ``None`` follows the pelvis height too.
        smoothing: exponential smoothing time constant (s) of the followed position; 0 = rigid.
        deadband: the look-at point only moves once the pelvis is more than this far (m,
            horizontally) from it, then by the excess; a static background for clips that stay
            in place keeps GIFs small (only changed pixels are stored).
    """

    distance: float = 2.3
    azimuth: float = 150.0
    elevation: float = -12.0
    height: float | None = 0.55
    smoothing: float = 0.0
    deadband: float = 0.0


# --------------------------------------------------------------------------------------------
# Scene
# --------------------------------------------------------------------------------------------


def build_scene_model(width: int, height: int, mjcf: str | Path | None = None) -> mujoco.MjModel:
    """The visual G1 model with a checker floor (``z = 0``), a sky and lights; offscreen buffer >= ``width x height``."""
    path = Path(mjcf) if mjcf is not None else assets.require(assets.G1_MJCF)
    spec = mujoco.MjSpec.from_file(str(path))
    spec.visual.global_.offwidth = max(int(width), spec.visual.global_.offwidth)
    spec.visual.global_.offheight = max(int(height), spec.visual.global_.offheight)
    spec.visual.quality.shadowsize = 1024
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.5, 0.5, 0.5]
    spec.visual.headlight.specular = [0.1, 0.1, 0.1]
    spec.add_texture(
        name="g1m_sky",
        type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=[0.55, 0.7, 0.85],
        rgb2=[0.95, 0.97, 1.0],
        width=256,
        height=1536,
    )
    spec.add_texture(
        name="g1m_checker",
        type=mujoco.mjtTexture.mjTEXTURE_2D,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.32, 0.36, 0.42],
        rgb2=[0.24, 0.27, 0.32],
        mark=mujoco.mjtMark.mjMARK_EDGE,
        markrgb=[0.6, 0.6, 0.6],
        width=300,
        height=300,
    )
    mat = spec.add_material(name="g1m_floor", texrepeat=[2.0, 2.0], texuniform=True, reflectance=0.0)
    mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "g1m_checker"
    spec.worldbody.add_geom(
        name="g1m_floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[20.0, 20.0, 0.05],
        material="g1m_floor",
        contype=0,
        conaffinity=0,
    )
    spec.worldbody.add_light(
        name="g1m_sun",
        pos=[1.0, -1.0, 4.0],
        dir=[-0.25, 0.25, -1.0],
        type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
        castshadow=True,
        diffuse=[0.6, 0.6, 0.6],
        specular=[0.2, 0.2, 0.2],
    )
    return spec.compile()


class _Poser:
    """Maps a :class:`Motion`'s frames (by joint name) onto an ``MjData`` of the scene model."""

    def __init__(self, model: mujoco.MjModel, motion: Motion):
        if model.jnt_type[0] != mujoco.mjtJoint.mjJNT_FREE:
            raise ValueError("render model must have a floating base as its first joint")
        names = [model.joint(i).name for i in range(1, model.njnt) if model.jnt_type[i] != mujoco.mjtJoint.mjJNT_FREE]
        cols = motion.joint_index(names)
        self.qadr = np.array([model.jnt_qposadr[model.joint(n).id] for n in names])
        self.joint_pos = motion.joint_pos[:, cols]
        self.root_pos = motion.root_pos_w
        self.root_quat_wxyz = np.concatenate([motion.root_quat_w[:, 3:4], motion.root_quat_w[:, :3]], axis=-1)
        self.fps = motion.fps
        self.num_frames = motion.num_frames

    def frame_at(self, t: float) -> int:
        return int(np.clip(round(t * self.fps), 0, self.num_frames - 1))

    def apply(self, model: mujoco.MjModel, data: mujoco.MjData, t: float, offset: np.ndarray | None = None) -> None:
        i = self.frame_at(t)
        data.qpos[0:3] = self.root_pos[i] + (0.0 if offset is None else offset)
        data.qpos[3:7] = self.root_quat_wxyz[i]
        data.qpos[self.qadr] = self.joint_pos[i]
        mujoco.mj_kinematics(model, data)
        mujoco.mj_camlight(model, data)


def _frame_times(motion: Motion, out_fps: float) -> np.ndarray:
    n = int(np.floor(motion.duration * out_fps + 1e-9)) + 1
    return np.arange(n) / out_fps


def iter_frames(
    motion: Motion,
    times: Sequence[float] | np.ndarray,
    width: int = 480,
    height: int = 360,
    camera: TrackingCamera | None = None,
    reference: Motion | None = None,
    reference_offset: Sequence[float] = (0.0, 0.0, 0.0),
    reference_rgba: Sequence[float] = (0.2, 0.6, 1.0, 0.3),
    shadows: bool = True,
) -> Iterator[np.ndarray]:
    """Render ``motion`` at ``times`` (s); yield ``[height, width, 3]`` uint8 RGB images.

    ``reference`` is drawn as a ghost tinted ``reference_rgba`` (alpha < 1 = translucent), shifted
    by ``reference_offset`` (m, world frame); its frames are taken at the same times (clamped).
    ``shadows=False`` skips the shadow pass (the dearest part of a frame on a software GL backend).

    Raises:
        RenderBackendError: no working offscreen GL backend (the message names the package).
    """
    cam_cfg = camera or TrackingCamera()
    _ensure_backend()
    model = build_scene_model(width, height)
    data = mujoco.MjData(model)
    poser = _Poser(model, motion)
    ref_data = mujoco.MjData(model) if reference is not None else None
    ref_poser = _Poser(model, reference) if reference is not None else None
    ref_off = np.asarray(reference_offset, dtype=np.float64)
    try:
        renderer = mujoco.Renderer(model, height=height, width=width)
    except ValueError:
        raise
    except Exception as exc:
        raise RenderBackendError(_backend_hint(gl_backend(), exc)) from exc
    opt = mujoco.MjvOption()
    pert = mujoco.MjvPerturb()
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.distance, cam.azimuth, cam.elevation = cam_cfg.distance, cam_cfg.azimuth, cam_cfg.elevation
    root_id = 1  # the floating base body
    # a ghost drawn beside the robot: look between the two, horizontally
    look_shift = np.zeros(3)
    if ref_poser is not None:
        look_shift[:2] = 0.5 * np.asarray(ref_off, dtype=float)[:2]
    followed: np.ndarray | None = None
    last_t: float | None = None
    try:
        for t in times:
            poser.apply(model, data, float(t))
            target = data.xpos[root_id].copy()
            if cam_cfg.height is not None:
                target[2] = cam_cfg.height
            if followed is None or last_t is None:
                followed = target
            else:
                if cam_cfg.deadband > 0:
                    gap = target[:2] - followed[:2]
                    dist = float(np.linalg.norm(gap))
                    excess = max(dist - cam_cfg.deadband, 0.0)
                    target[:2] = followed[:2] + (gap / dist * excess if excess > 0 else 0.0)
                a = 1.0 if cam_cfg.smoothing <= 0 else 1.0 - np.exp(-max(float(t) - last_t, 0.0) / cam_cfg.smoothing)
                followed = followed + a * (target - followed)
            last_t = float(t)
            cam.lookat[:] = followed + look_shift
            renderer.update_scene(data, camera=cam, scene_option=opt)
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = shadows
            if ref_poser is not None and ref_data is not None:
                ref_poser.apply(model, ref_data, float(t), ref_off)
                scn = renderer.scene
                n0 = scn.ngeom
                mujoco.mjv_addGeoms(model, ref_data, opt, pert, mujoco.mjtCatBit.mjCAT_DYNAMIC, scn)
                for g in range(n0, scn.ngeom):
                    scn.geoms[g].rgba[:] = reference_rgba
            yield renderer.render().copy()
    finally:
        renderer.close()


def render_frame(
    motion: Motion,
    time: float = 0.0,
    width: int = 480,
    height: int = 360,
    camera: TrackingCamera | None = None,
    reference: Motion | None = None,
) -> np.ndarray:
    """One ``[height, width, 3]`` uint8 RGB image of ``motion`` at ``time`` (s)."""
    return next(iter_frames(motion, [time], width, height, camera, reference))


def _gif_palette(samples: list[np.ndarray]):
    from PIL import Image

    mosaic = Image.fromarray(np.concatenate(samples, axis=0))
    return mosaic.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def render_motion(
    motion: Motion,
    output: str | Path,
    width: int = 480,
    height: int = 360,
    fps: float | None = None,
    camera: TrackingCamera | None = None,
    reference: Motion | None = None,
    reference_offset: Sequence[float] = (0.0, 0.0, 0.0),
    progress: bool = False,
    shadows: bool = True,
) -> Path:
    """Render ``motion`` to ``output`` (``.gif`` or ``.mp4``) and return its path.

    Args:
        motion: the clip to draw (joints mapped by name onto the visual G1 model).
        output: ``.gif`` (Pillow, one shared 255-colour palette, loops) or ``.mp4`` (H.264 via
            ``imageio-ffmpeg``; width and height must be even). Written atomically.
        width, height: image size (pixels).
        fps: output frame rate (Hz); default 20 for GIF, 30 for MP4, never above ``motion.fps``.
            Frames are the motion's frames nearest to ``k / fps`` (subsampling, no blending).
        camera: tracking camera; default :class:`TrackingCamera`.
        reference: optional second motion drawn as a translucent blue ghost.
        reference_offset: ghost displacement (m, world frame), e.g. ``(0, 1, 0)`` to put it beside.
        progress: print a progress line to stderr every 50 frames.
        shadows: draw shadows (``False`` renders faster on a software GL backend such as OSMesa).

    Raises:
        ValueError: unsupported extension, bad size or fps.
        RuntimeError: ``.mp4`` requested but ``imageio-ffmpeg`` is not installed.
        RenderBackendError: no working offscreen GL backend.
    """
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in DEFAULT_FPS:
        raise ValueError(f"{output}: unsupported video format {suffix!r}; use .gif or .mp4")
    if width < 16 or height < 16:
        raise ValueError(f"image size {width}x{height} is too small (minimum 16x16)")
    if suffix == ".mp4":
        if width % 2 or height % 2:
            raise ValueError(f"{output}: H.264 needs an even width and height, got {width}x{height}")
        if importlib.util.find_spec("imageio_ffmpeg") is None:
            raise RuntimeError(
                f"{output}: writing .mp4 needs the 'imageio-ffmpeg' package (pip install imageio-ffmpeg); "
                "or render a .gif instead"
            )
    out_fps = float(fps) if fps is not None else min(DEFAULT_FPS[suffix], motion.fps)
    if not np.isfinite(out_fps) or out_fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if suffix == ".gif" and out_fps > MAX_GIF_FPS:
        raise ValueError(f"GIF frame rate {out_fps} Hz is above {MAX_GIF_FPS} Hz (viewers slow such GIFs down)")
    times = _frame_times(motion, out_fps)

    def frames(ts: Sequence[float] | np.ndarray) -> Iterator[np.ndarray]:
        return iter_frames(motion, ts, width, height, camera, reference, reference_offset, shadows=shadows)

    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.stem}.{os.getpid()}.tmp{suffix}")
    try:
        if suffix == ".gif":
            from PIL import Image

            sample_t = times[np.unique(np.linspace(0, len(times) - 1, min(len(times), 6)).round().astype(int))]
            palette = _gif_palette(list(frames(sample_t)))
            images = []
            for k, img in enumerate(frames(times)):
                images.append(Image.fromarray(img).quantize(palette=palette, dither=Image.Dither.NONE))
                if progress and (k + 1) % 50 == 0:
                    print(f"  {output.name}: {k + 1}/{len(times)} frames", file=sys.stderr, flush=True)
            images[0].save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=images[1:],
                duration=int(round(1000.0 / out_fps)),
                loop=0,
                optimize=False,
                disposal=1,
            )
        else:
            import imageio.v2 as imageio

            with imageio.get_writer(
                tmp, format="FFMPEG", fps=out_fps, codec="libx264", quality=7, macro_block_size=2, pixelformat="yuv420p"
            ) as writer:
                for k, img in enumerate(frames(times)):
                    writer.append_data(img)
                    if progress and (k + 1) % 50 == 0:
                        print(f"  {output.name}: {k + 1}/{len(times)} frames", file=sys.stderr, flush=True)
        os.replace(tmp, output)
    finally:
        if tmp.exists():
            tmp.unlink()
    return output


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: render one or more canonical motion files to GIF/MP4."""
    parser = argparse.ArgumentParser(prog="python -m g1_mimic.motion.render", description=__doc__.split("\n")[0])
    parser.add_argument("motion", type=Path, help="canonical motion .npz")
    parser.add_argument("output", type=Path, help="output .gif or .mp4")
    parser.add_argument("--width", type=int, default=480)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=float, default=None, help="output frame rate (default 20 for GIF, 30 for MP4)")
    parser.add_argument("--distance", type=float, default=TrackingCamera.distance, help="camera distance (m)")
    parser.add_argument("--azimuth", type=float, default=TrackingCamera.azimuth, help="camera azimuth (deg)")
    parser.add_argument("--elevation", type=float, default=TrackingCamera.elevation, help="camera elevation (deg)")
    parser.add_argument(
        "--deadband",
        type=float,
        default=TrackingCamera.deadband,
        help="camera follows the pelvis beyond this distance (m)",
    )
    parser.add_argument("--reference", type=Path, default=None, help="motion drawn as a translucent ghost")
    parser.add_argument("--reference-offset", type=float, nargs=3, default=(0.0, 0.0, 0.0), metavar=("X", "Y", "Z"))
    args = parser.parse_args(argv)
    motion = load_motion(args.motion)
    reference = load_motion(args.reference) if args.reference is not None else None
    print(f"rendering {args.motion} ({motion.duration:.2f} s) with MUJOCO_GL={gl_backend()} ...", flush=True)
    path = render_motion(
        motion,
        args.output,
        args.width,
        args.height,
        args.fps,
        camera=TrackingCamera(
            distance=args.distance, azimuth=args.azimuth, elevation=args.elevation, deadband=args.deadband
        ),
        reference=reference,
        reference_offset=args.reference_offset,
        progress=True,
    )
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
