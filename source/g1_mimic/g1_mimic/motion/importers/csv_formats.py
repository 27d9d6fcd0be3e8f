"""CSV layouts (no header, one frame per line, comma separated) and the LAFAN1-layout exporter.

* ``csv_lafan_xyzw``: 36 columns: root x y z (m), root quaternion x y z w, 29 joint angles (rad)
  in :data:`~g1_mimic.robots.g1_constants.SDK_JOINT_NAMES` order (Unitree LAFAN1 retargets,
  BeyondMimic). Typically 30 fps.
* ``csv_wxyz``: the same with the quaternion w x y z (ProtoMotions / Kimodo exports).
* ``csv_23dof``: 30 columns: root x y z, quaternion x y z w, 23 angles in
  :data:`~g1_mimic.robots.g1_constants.G1_23DOF_JOINT_NAMES` order. Typically 60 fps.

The root is the pelvis frame in the world (z up, floor at z = 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from g1_mimic.fileio import atomic_path
from g1_mimic.motion import quat as Q
from g1_mimic.motion.format import Motion, MotionFormatError
from g1_mimic.motion.importers._common import (
    CSV_DEFAULT_FPS,
    FORMATS,
    ImportOptions,
    RawMotion,
    fps_from_name,
    resolve_fps,
)
from g1_mimic.motion.validate import MotionValidationError, ValidationReport
from g1_mimic.robots.g1_constants import G1_23DOF_JOINT_NAMES, SDK_JOINT_NAMES

CSV_FORMATS = ("csv_lafan_xyzw", "csv_wxyz", "csv_23dof")
#: Column count of each CSV layout.
CSV_COLUMNS = {"csv_lafan_xyzw": 36, "csv_wxyz": 36, "csv_23dof": 30}
#: The right quaternion order gives a pelvis tilt (angle between its z axis and world up) whose
#: median over the clip is at most this (degrees): humanoid clips are mostly upright.
UPRIGHT_TILT_DEG = 30.0
#: ... and the wrong order must give a median tilt larger by at least this (degrees).
TILT_MARGIN_DEG = 15.0
#: When both orders look upright, the order whose scalar slot holds |q_i| >= this in every frame wins.
SCALAR_ONE = 0.99
#: The scalar-slot rule is dropped when the other order puts the feet closer to the floor by more than this (m).
SCALAR_RULE_GROUND_TOL_M = 0.005
#: Feet test: the right order keeps the median |lowest foot z| under this (m), the wrong one is
#: worse by at least this much.
GROUND_DECISIVE_M = 0.1


def _layout(fmt: str) -> str:
    return f"{fmt}: {FORMATS[fmt]}"


def read_csv_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse a headerless numeric CSV. Returns ``(table [T, C], line_numbers [T])`` (1-based lines).

    Blank lines are skipped; one trailing comma per line is tolerated. Raises naming the line and
    column of the first ragged row or non-numeric cell.
    """
    where = str(path)
    if not path.exists():
        raise MotionFormatError(f"{where}: no such file")
    rows: list[list[float]] = []
    lines: list[int] = []
    ncol: int | None = None
    with path.open("r", encoding="utf-8-sig", errors="replace") as fh:  # -sig: tolerate a BOM
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if not text:
                continue
            cells = [c.strip() for c in text.split(",")]
            if len(cells) > 1 and cells[-1] == "":
                cells.pop()
            if ncol is None:
                ncol = len(cells)
            elif len(cells) != ncol:
                raise MotionFormatError(
                    f"{where}: line {lineno} (frame {len(rows)}) has {len(cells)} columns, the first row has {ncol}; "
                    "every row must have the same number of columns. Fix or remove that line."
                )
            try:
                rows.append([float(c) for c in cells])
            except ValueError:
                bad = next(i for i, c in enumerate(cells) if not _is_float(c))
                if not rows and sum(not _is_float(c) for c in cells) > len(cells) // 2:
                    raise MotionFormatError(
                        f"{where}: line {lineno} is a header or text ({text[:60]!r}); these CSV layouts have no header "
                        "row: delete it."
                    ) from None
                raise MotionFormatError(
                    f"{where}: line {lineno} (frame {len(rows)}), column {bad + 1}: {cells[bad]!r} is not a number"
                ) from None
            lines.append(lineno)
    if not rows:
        raise MotionFormatError(f"{where}: the CSV file has no data rows")
    return np.asarray(rows, dtype=np.float64), np.asarray(lines, dtype=np.int64)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def median_tilt_deg(quat_xyzw: np.ndarray) -> float:
    """Median angle (degrees) between the pelvis z axis and world up over the frames."""
    q = Q.normalize(np.asarray(quat_xyzw, dtype=np.float64))
    up_z = np.clip(1.0 - 2.0 * (q[:, 0] ** 2 + q[:, 1] ** 2), -1.0, 1.0)
    return float(np.degrees(np.median(np.arccos(up_z))))


def _tilt_decision(c: np.ndarray) -> tuple[str | None, str, bool]:
    """(order or None, explanation, decided by the scalar-slot rule)."""
    t_xyzw = median_tilt_deg(c)
    t_wxyz = median_tilt_deg(Q.wxyz_to_xyzw(c))
    stats = f"median pelvis tilt {t_xyzw:.0f} deg read as xyzw, {t_wxyz:.0f} deg read as wxyz"
    if min(t_xyzw, t_wxyz) <= UPRIGHT_TILT_DEG and abs(t_xyzw - t_wxyz) >= TILT_MARGIN_DEG:
        return ("xyzw" if t_xyzw < t_wxyz else "wxyz"), stats, False
    if max(t_xyzw, t_wxyz) <= UPRIGHT_TILT_DEG:
        n = np.linalg.norm(c, axis=1)
        if np.all(np.abs(c[:, 3]) / n >= SCALAR_ONE):
            return "xyzw", stats + "; the 4th component is ~1 in every frame", True
        if np.all(np.abs(c[:, 0]) / n >= SCALAR_ONE):
            return "wxyz", stats + "; the 1st component is ~1 in every frame", True
    return None, stats, False


def ground_error_m(root_pos: np.ndarray, quat_xyzw: np.ndarray, joint_pos_sdk: np.ndarray, max_frames: int = 60) -> float:
    """Median over (up to ``max_frames`` evenly spaced) frames of |lowest foot point z| (m) by forward kinematics."""
    from g1_mimic.motion.kinematics import g1_kinematics
    from g1_mimic.motion.validate import foot_heights

    kin = g1_kinematics()
    idx = np.unique(np.linspace(0, root_pos.shape[0] - 1, min(root_pos.shape[0], max_frames)).astype(np.int64))
    cols = kin.joint_indices(SDK_JOINT_NAMES)
    jp = np.zeros((idx.size, kin.num_joints))
    jp[:, cols] = joint_pos_sdk[idx]
    bodies = kin.forward(kin.qpos(root_pos[idx], Q.normalize(quat_xyzw[idx]), jp))
    h = foot_heights(bodies["body_pos_w"], bodies["body_quat_w"], kin.body_names, kinematics=kin).min(axis=1)
    return float(np.median(np.abs(h)))


def detect_quat_order(
    cols: np.ndarray, root_pos: np.ndarray | None = None, joint_pos_sdk: np.ndarray | None = None
) -> tuple[str | None, str]:
    """Guess whether quaternion columns ``cols`` [T, 4] are xyzw or wxyz; ``(None, why)`` when ambiguous.

    Two independent tests, each of which may abstain:

    * **upright pelvis**: read both ways, the right order gives a median pelvis tilt (angle
      between its z axis and world up) of at most :data:`UPRIGHT_TILT_DEG` and the wrong one a tilt
      larger by at least :data:`TILT_MARGIN_DEG`. When both readings are upright (only near-identity
      data, e.g. a clip facing +x in one order is one facing -x in the other), the order whose
      scalar slot (4th for xyzw, 1st for wxyz) holds ``|q_i| >= SCALAR_ONE`` in every frame wins,
      unless the feet test (below) puts the feet closer to the floor in the other order by more than
      :data:`SCALAR_RULE_GROUND_TOL_M`.
    * **feet on the floor** (when ``root_pos`` [T, 3] and ``joint_pos_sdk`` [T, 29] are given):
      forward kinematics under each reading; the right order keeps the median |lowest foot z|
      below :data:`GROUND_DECISIVE_M` while the wrong one is worse by at least that much.

    The order is detected when at least one test decides and the tests do not disagree (a lying
    clip can look "upright" when misread; its feet then sink into the floor, and the conflict
    makes it ambiguous rather than wrong).
    """
    finite = np.isfinite(cols).all(axis=1) & (np.linalg.norm(cols, axis=1) > 0.5)
    if root_pos is not None and joint_pos_sdk is not None:
        finite &= np.isfinite(root_pos).all(axis=1) & np.isfinite(joint_pos_sdk).all(axis=1)
    c = cols[finite]
    if c.shape[0] == 0:
        return None, "no finite quaternions"
    by_tilt, why, via_scalar = _tilt_decision(c)
    by_ground = None
    if root_pos is not None and joint_pos_sdk is not None:
        g = {
            "xyzw": ground_error_m(root_pos[finite], c, joint_pos_sdk[finite]),
            "wxyz": ground_error_m(root_pos[finite], Q.wxyz_to_xyzw(c), joint_pos_sdk[finite]),
        }
        why += f"; median |lowest foot z| {g['xyzw']:.3f} m as xyzw, {g['wxyz']:.3f} m as wxyz"
        if min(g.values()) <= GROUND_DECISIVE_M and abs(g["xyzw"] - g["wxyz"]) >= GROUND_DECISIVE_M:
            by_ground = "xyzw" if g["xyzw"] < g["wxyz"] else "wxyz"
        if via_scalar and by_tilt is not None:
            other = "wxyz" if by_tilt == "xyzw" else "xyzw"
            if g[by_tilt] > g[other] + SCALAR_RULE_GROUND_TOL_M:
                return None, why + f" (the feet sit better on the floor as {other})"
    if by_tilt and by_ground and by_tilt != by_ground:
        return None, why + " (the two tests disagree)"
    return by_tilt or by_ground, why


def detect_csv_format(path: Path) -> tuple[str, str]:
    """``(format, reason)`` for a CSV file from its column count and quaternion columns; raise if ambiguous."""
    table, _ = read_csv_table(path)
    ncol = table.shape[1]
    if ncol == 30:
        return "csv_23dof", "30 columns (23-DoF layout)"
    if ncol != 36:
        raise MotionFormatError(
            f"{path}: CSV with {ncol} columns matches no known layout: 36 columns = csv_lafan_xyzw / csv_wxyz "
            "(root xyz, quaternion, 29 joints), 30 columns = csv_23dof (root xyz, quaternion xyzw, 23 joints)."
        )
    order, why = detect_quat_order(table[:, 3:7], table[:, 0:3], table[:, 7:36])
    if order is None:
        # Unitree's LAFAN1 layout is the most common 36-column G1 file: read it as such unless the
        # xyzw reading itself is implausible (pelvis not upright, or feet far from the floor).
        contradiction = _xyzw_contradiction(table)
        if contradiction:
            raise MotionFormatError(
                f"{path}: 36 columns, but read as Unitree's LAFAN1 layout (quaternion x y z w) {contradiction}, and the "
                f"w x y z reading is not clearly better ({why}). Check the file; if the quaternion is w x y z pass "
                "--format csv_wxyz, to read it as x y z w anyway pass --format csv_lafan_xyzw."
            )
        return "csv_lafan_xyzw", (
            f"36 columns: Unitree's LAFAN1 layout, quaternion x y z w (the default for 36 columns; the data do not "
            f"decide the order: {why}; pass --format csv_wxyz for w x y z)"
        )
    fmt = "csv_lafan_xyzw" if order == "xyzw" else "csv_wxyz"
    return fmt, f"36 columns, quaternion order {order} ({why})"


def _xyzw_contradiction(table: np.ndarray) -> str | None:
    """Why the x y z w reading of a 36-column table is implausible, or ``None`` when it is plausible.

    Implausible: median pelvis tilt above :data:`UPRIGHT_TILT_DEG`, or median |lowest foot z| above
    :data:`GROUND_DECISIVE_M` (forward kinematics on the G1).
    """
    ok = np.isfinite(table).all(axis=1) & (np.linalg.norm(table[:, 3:7], axis=1) > 0.5)
    t = table[ok]
    if t.shape[0] == 0:
        return "no frame has a finite, non-zero quaternion"
    tilt = median_tilt_deg(t[:, 3:7])
    if tilt > UPRIGHT_TILT_DEG:
        return f"the pelvis is tilted {tilt:.0f} deg from upright in the median frame (more than {UPRIGHT_TILT_DEG:g})"
    ground = ground_error_m(t[:, 0:3], t[:, 3:7], t[:, 7:36])
    if ground > GROUND_DECISIVE_M:
        return f"the lowest foot point is {ground:.2f} m from the floor in the median frame (more than {GROUND_DECISIVE_M:g})"
    return None


def read_csv(path: Path, fmt: str, opts: ImportOptions, report: ValidationReport) -> RawMotion:
    """Read one of the CSV layouts (see the module docstring) into a :class:`RawMotion`."""
    where = str(path)
    table, lines = read_csv_table(path)
    expected = CSV_COLUMNS[fmt]
    if table.shape[1] != expected:
        hint = ""
        if table.shape[1] in (30, 36):
            other = "csv_23dof" if table.shape[1] == 30 else "csv_lafan_xyzw or csv_wxyz"
            hint = f" This looks like {other}."
        raise MotionValidationError(
            f"{where}: wrong column count: {table.shape[1]} columns, expected {expected} for {_layout(fmt)}.{hint}"
        )
    named = fps_from_name(path) if opts.fps is None else None
    if named is not None:
        fps, origin = named, "file name"
        report.note(f"{where}: CSV files store no frame rate; {fps:g} Hz taken from the file name. Pass --fps HZ to override.")
    elif opts.fps is None:
        fps, origin = CSV_DEFAULT_FPS[fmt], "default"
        report.note(
            f"{where}: CSV files store no frame rate; assuming {fps:g} Hz (the usual rate of {fmt}). "
            "Pass --fps HZ if the clip was recorded at another rate."
        )
    else:
        fps, origin = resolve_fps(None, opts, where=where, field_name="fps", report=report)
    quat_cols = table[:, 3:7]
    root_quat = Q.wxyz_to_xyzw(quat_cols) if fmt == "csv_wxyz" else quat_cols
    names = G1_23DOF_JOINT_NAMES if fmt == "csv_23dof" else SDK_JOINT_NAMES
    return RawMotion(
        fps=fps,
        fps_origin=origin,
        root_pos=table[:, 0:3],
        root_quat_xyzw=root_quat,
        joint_pos=table[:, 7:],
        joint_names=tuple(names),
        root_pos_field="root position (columns 1-3)",
        root_quat_field=f"root quaternion (columns 4-7, {'w x y z' if fmt == 'csv_wxyz' else 'x y z w'})",
        joint_field="joint angles (columns 8-)",
        frame_lines=lines,
        partial_ok=fmt == "csv_23dof",
        details={"csv_columns": int(table.shape[1])},
    )


def export_csv(motion: Motion, path: str | Path, quat_order: str = "xyzw") -> Path:
    """Write ``motion`` in the LAFAN1 CSV layout: root xyz (m), root quaternion, 29 joints (rad, SDK order).

    ``quat_order`` is ``"xyzw"`` (``csv_lafan_xyzw``) or ``"wxyz"`` (``csv_wxyz``). Values are
    written with 9 significant digits, which reproduces float32 data (the canonical storage)
    exactly. The file is written atomically. The CSV stores no frame rate: import it back with
    ``--fps <motion.fps>``.
    """
    path = Path(path)
    if quat_order not in ("xyzw", "wxyz"):
        raise ValueError(f"quat_order must be 'xyzw' or 'wxyz', got {quat_order!r}")
    quat = np.asarray(motion.root_quat_w, dtype=np.float64)
    if quat_order == "wxyz":
        quat = Q.xyzw_to_wxyz(quat)
    joints = np.asarray(motion.joint_pos, dtype=np.float64)[:, motion.joint_index(SDK_JOINT_NAMES)]
    table = np.concatenate([np.asarray(motion.root_pos_w, dtype=np.float64), quat, joints], axis=1)
    with atomic_path(path) as tmp:
        np.savetxt(tmp, table, fmt="%.9g", delimiter=",")
    return path
