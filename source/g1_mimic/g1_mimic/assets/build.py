"""Build the local G1 assets from a pinned, checksummed source. Run: ``python -m g1_mimic.assets.build``.

Source: the Unitree G1 29-DoF (rev 1.0) MJCF and STL meshes shipped in the PyPI wheel
``mjlab==1.6.0`` (``mjlab/asset_zoo/robots/unitree_g1/xmls``; package licence Apache-2.0, the model
originates from Unitree's BSD-3-Clause robot descriptions). The wheel is fetched once with
``pip download`` (PyPI only) and verified against :data:`MJLAB_WHEEL_SHA256`.

Outputs under :data:`g1_mimic.assets.ASSET_ROOT`:

- ``g1/g1.xml`` + ``g1/assets/*.STL``: the MJCF as shipped (forward kinematics, rendering);
- ``g1/g1_collision.xml``: visual meshes removed, motor armature added (the USD's source);
- ``g1/g1_sim.xml``: the collision model with PD position actuators at BeyondMimic's gains,
  effort limits, a floor and dt 0.005 s (plain MuJoCo C simulation: benchmark, sim2sim);
- ``g1/usd/g1.usdc``: ``g1_collision.xml`` converted by ``mujoco_usd_converter`` (Isaac Lab);
- ``ground_plane.usda``: a local collision plane (no remote materials);
- ``PROVENANCE.json``: source, checksums, licences and tool versions.

Idempotent: skips work whose outputs exist unless ``--force``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from g1_mimic.assets import ASSET_ROOT, G1_DIR, G1_MJCF, G1_USD, GROUND_USD, PROVENANCE
from g1_mimic.robots.g1_constants import SDK_JOINT_NAMES, motor_of

MJLAB_WHEEL = "mjlab==1.6.0"
MJLAB_WHEEL_FILE = "mjlab-1.6.0-py3-none-any.whl"
MJLAB_WHEEL_SHA256 = "03d003854e2f44c48330c6dcf4c2253ff7641bb569747846825a21b9efa8540b"
MJCF_PREFIX = "mjlab/asset_zoo/robots/unitree_g1/xmls/"
LICENCE_MEMBER = "mjlab-1.6.0.dist-info/licenses/LICENSE"

G1_COLLISION_MJCF = G1_DIR / "g1_collision.xml"
G1_SIM_MJCF = G1_DIR / "g1_sim.xml"

GROUND_USDA = """#usda 1.0
(
    defaultPrim = "GroundPlane"
    metersPerUnit = 1
    upAxis = "Z"
)

def Xform "GroundPlane"
{
    def Plane "CollisionPlane" (
        prepend apiSchemas = ["PhysicsCollisionAPI"]
    )
    {
        uniform token axis = "Z"
        double length = 200
        double width = 200
        uniform token purpose = "guide"
    }
}
"""


def _log(msg: str) -> None:
    print(f"[g1_mimic.assets] {msg}", flush=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_wheel(cache_dir: Path) -> Path:
    """Download the pinned mjlab wheel into ``cache_dir`` (no dependencies) and verify its checksum."""
    wheel = cache_dir / MJLAB_WHEEL_FILE
    if not wheel.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        _log(f"downloading {MJLAB_WHEEL} (wheel only, ~14 MB) into {cache_dir}")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache_dir), MJLAB_WHEEL]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0 or not wheel.exists():
            raise RuntimeError(
                f"could not download {MJLAB_WHEEL} from PyPI ({' '.join(cmd)}):\n{res.stderr[-2000:]}\n"
                f"Fix: check network access to PyPI, or place {MJLAB_WHEEL_FILE} in {cache_dir}."
            )
    digest = _sha256(wheel)
    if digest != MJLAB_WHEEL_SHA256:
        raise RuntimeError(
            f"{wheel}: sha256 {digest} does not match the pinned {MJLAB_WHEEL_SHA256}. "
            "Delete the file and run the build again."
        )
    return wheel


def extract_mjcf(wheel: Path, out_dir: Path) -> None:
    """Extract the G1 MJCF, its meshes and the package licence from the wheel into ``out_dir``."""
    with zipfile.ZipFile(wheel) as zf:
        members = [m for m in zf.namelist() if m.startswith(MJCF_PREFIX) and not m.endswith("/")]
        for m in members:
            dest = out_dir / m[len(MJCF_PREFIX) :]
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(m) as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst)
        (out_dir / "LICENSE.mjlab").write_bytes(zf.read(LICENCE_MEMBER))
    _log(f"extracted {len(members)} files to {out_dir}")


def _collision_spec(mjcf: Path):
    """Load the G1 MJCF as an ``MjSpec`` with visual geoms and meshes removed and armature set."""
    import mujoco

    spec = mujoco.MjSpec.from_file(str(mjcf))
    for geom in list(spec.geoms):
        if geom.type == mujoco.mjtGeom.mjGEOM_MESH:
            spec.delete(geom)
    for mesh in list(spec.meshes):
        spec.delete(mesh)
    for light in list(spec.lights):
        spec.delete(light)
    for joint in spec.joints:
        if joint.type == mujoco.mjtJoint.mjJNT_HINGE:
            joint.armature = motor_of(joint.name).armature
    return spec


def write_collision_and_sim_mjcf(mjcf: Path) -> None:
    """Write ``g1_collision.xml`` (USD source) and ``g1_sim.xml`` (plain MuJoCo simulation)."""
    import mujoco

    spec = _collision_spec(mjcf)
    G1_COLLISION_MJCF.write_text(spec.to_xml())

    spec = _collision_spec(mjcf)
    spec.option.timestep = 0.005
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0
    floor = spec.worldbody.add_geom()
    floor.name = "floor"
    floor.type = mujoco.mjtGeom.mjGEOM_PLANE
    floor.size = [0, 0, 0.05]
    floor.friction = [1.0, 0.005, 0.0001]
    for name in SDK_JOINT_NAMES:
        m = motor_of(name)
        act = spec.add_actuator()
        act.name = name.replace("_joint", "")
        act.target = name
        act.trntype = mujoco.mjtTrn.mjTRN_JOINT
        act.set_to_position(kp=m.stiffness, kv=m.damping)
        act.forcerange = [-m.effort_limit, m.effort_limit]
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE
    G1_SIM_MJCF.write_text(spec.to_xml())
    model = mujoco.MjModel.from_xml_path(str(G1_SIM_MJCF))
    if model.nu != 29 or model.njnt != 30:
        raise RuntimeError(f"{G1_SIM_MJCF}: expected 29 actuators and 30 joints, got {model.nu}, {model.njnt}")
    _log(f"wrote {G1_COLLISION_MJCF.name} and {G1_SIM_MJCF.name} ({model.ngeom} geoms, {model.nu} actuators)")


def convert_usd(force: bool) -> None:
    """Convert ``g1_collision.xml`` to USD with mujoco_usd_converter (about 3 s)."""
    if G1_USD.exists() and not force:
        return
    out = G1_USD.parent
    with tempfile.TemporaryDirectory(dir=G1_DIR) as tmp:
        cmd = [sys.executable, "-m", "mujoco_usd_converter", "--no-layer-structure", str(G1_COLLISION_MJCF), tmp]
        _log("converting the collision MJCF to USD: " + " ".join(cmd[2:]))
        res = subprocess.run(cmd, capture_output=True, text=True)
        produced = sorted(Path(tmp).glob("*.usd*"))
        if res.returncode != 0 or not produced:
            raise RuntimeError(f"mujoco_usd_converter failed ({res.returncode}):\n{res.stdout[-1500:]}\n{res.stderr[-1500:]}")
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for p in Path(tmp).iterdir():
            shutil.move(str(p), out / p.name)
        produced_name = produced[0].name
        if produced_name != G1_USD.name:
            (out / produced_name).rename(G1_USD)
    _log(f"wrote {G1_USD} ({G1_USD.stat().st_size / 1e6:.1f} MB)")


def build(force: bool = False, cache_dir: Path | None = None) -> None:
    """Build every asset (idempotent). ``cache_dir`` holds the downloaded wheel."""
    cache_dir = cache_dir or Path(os.environ.get("G1_MIMIC_CACHE", Path.home() / ".cache" / "g1_mimic"))
    G1_DIR.mkdir(parents=True, exist_ok=True)
    if force or not G1_MJCF.exists():
        wheel = fetch_wheel(cache_dir)
        extract_mjcf(wheel, G1_DIR)
    if force or not G1_SIM_MJCF.exists() or not G1_COLLISION_MJCF.exists():
        write_collision_and_sim_mjcf(G1_MJCF)
    convert_usd(force)
    if force or not GROUND_USD.exists():
        GROUND_USD.write_text(GROUND_USDA)
    import mujoco

    prov = {
        "source": {
            "package": MJLAB_WHEEL,
            "file": MJLAB_WHEEL_FILE,
            "sha256": MJLAB_WHEEL_SHA256,
            "path_in_wheel": MJCF_PREFIX + "g1.xml",
            "licence": "mjlab: Apache-2.0 (copied to g1/LICENSE.mjlab); G1 model: Unitree Robotics, BSD-3-Clause",
        },
        "builder": "python -m g1_mimic.assets.build",
        "mujoco": mujoco.__version__,
        "outputs": {
            str(p.relative_to(ASSET_ROOT)): _sha256(p)
            for p in (G1_MJCF, G1_COLLISION_MJCF, G1_SIM_MJCF, G1_USD, GROUND_USD)
        },
    }
    PROVENANCE.write_text(json.dumps(prov, indent=2) + "\n")
    _log(f"assets ready in {ASSET_ROOT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild every output")
    parser.add_argument("--cache-dir", type=Path, default=None, help="where the source wheel is kept")
    args = parser.parse_args()
    build(force=args.force, cache_dir=args.cache_dir)


if __name__ == "__main__":
    main()
