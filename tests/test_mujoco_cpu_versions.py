"""The batched MuJoCo-C solver relies on Newton/MuJoCo-Warp internals: it must run on the versions it was
built against (the pins of requirements.lock), and say so loudly otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from g1_mimic.physics.versions import (
    PINNED_VERSIONS,
    PinnedVersionError,
    check_pinned_versions,
    mismatch_message,
    version_mismatches,
)

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def _lock_pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)\s*$", line.strip())
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_solver_pins_are_the_lock_file_pins():
    pins = _lock_pins()
    for name, version in PINNED_VERSIONS.items():
        assert pins.get(name) == version, (
            f"g1_mimic.physics.versions pins {name}=={version} but requirements.lock has {name}=={pins.get(name)}: "
            "update both together after checking the MuJoCo-C solver against the new version."
        )


def test_installed_versions_are_the_pinned_ones():
    mismatches = version_mismatches()
    assert not mismatches, mismatch_message(mismatches)


def test_version_check_raises_with_the_alternative_preset():
    found = dict(PINNED_VERSIONS, newton="1.8.0")
    with pytest.raises(PinnedVersionError, match=r"newton==1\.8\.0 \(pinned 1\.6\.1\).*presets=newton_mjwarp"):
        check_pinned_versions(found)
    with pytest.raises(PinnedVersionError, match="mujoco-warp==not installed"):
        check_pinned_versions(dict(PINNED_VERSIONS, **{"mujoco-warp": None}))
    check_pinned_versions(dict(PINNED_VERSIONS))


def test_solver_refuses_other_versions(monkeypatch):
    pytest.importorskip("newton")
    import g1_mimic.physics.mujoco_cpu_solver as solver_module
    from g1_mimic.physics import versions

    monkeypatch.setattr(versions, "installed_version", lambda name: "0.0.1" if name == "mujoco" else PINNED_VERSIONS[name])
    with pytest.raises(PinnedVersionError, match=r"mujoco==0\.0\.1"):
        solver_module.BatchedMuJoCoSolver(model=None)
