"""The newton / mujoco-warp / mujoco versions the batched MuJoCo-C solver was built against.

:class:`~g1_mimic.physics.mujoco_cpu_solver.BatchedMuJoCoSolver` subclasses Newton's
``SolverMuJoCo`` and relies on its private methods and on MuJoCo-Warp's data layout (the
``_mujoco_warp_step`` hook, ``mjw_data`` field names and shapes, the per-world model fields that
``_expand_model_fields`` tiles). These are not stable APIs, so the solver refuses to run on other
versions than the pins of ``requirements.lock``; ``tests/test_mujoco_cpu_versions.py`` checks the
same pins against the lock file and the installed packages.
"""

from __future__ import annotations

from importlib import metadata

#: Distribution name -> the exact version the solver was written and tested against.
PINNED_VERSIONS: dict[str, str] = {
    "newton": "1.6.1",
    "mujoco-warp": "3.12.0",
    "mujoco": "3.12.0",
}


class PinnedVersionError(RuntimeError):
    """Raised when an installed newton / mujoco-warp / mujoco differs from the pinned version."""


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (a PyPI name), or None when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def version_mismatches(installed: dict[str, str | None] | None = None) -> dict[str, tuple[str, str | None]]:
    """``{distribution: (pinned, installed)}`` for every pinned package whose installed version differs.

    Args:
        installed: Installed versions by distribution name; read from the environment when None.
    """
    found = installed if installed is not None else {name: installed_version(name) for name in PINNED_VERSIONS}
    return {
        name: (pinned, found.get(name))
        for name, pinned in PINNED_VERSIONS.items()
        if found.get(name) != pinned
    }


def mismatch_message(mismatches: dict[str, tuple[str, str | None]]) -> str:
    """The error text for ``mismatches`` (see :func:`version_mismatches`)."""
    found = ", ".join(f"{name}=={got or 'not installed'} (pinned {pinned})" for name, (pinned, got) in mismatches.items())
    pins = " ".join(f"{name}=={version}" for name, version in PINNED_VERSIONS.items())
    return (
        f"The batched MuJoCo-C physics preset (presets=mujoco_cpu) relies on Newton/MuJoCo-Warp internals and "
        f"was built against {pins} (requirements.lock); found {found}. Reinstall the pinned versions "
        f"(`bash tools/install.sh --force`), or use the MuJoCo-Warp preset instead (presets=newton_mjwarp)."
    )


def check_pinned_versions(installed: dict[str, str | None] | None = None) -> None:
    """Raise :class:`PinnedVersionError` unless newton, mujoco-warp and mujoco are the pinned versions.

    Args:
        installed: Installed versions by distribution name; read from the environment when None.
    """
    mismatches = version_mismatches(installed)
    if mismatches:
        raise PinnedVersionError(mismatch_message(mismatches))
