"""Gym tasks of g1_mimic. Importing this module registers ``Isaac-G1-Mimic-v0`` (and its play variant).

Isaac Lab's CLI imports it through the ``isaaclab.tasks`` entry point declared in pyproject.toml.
"""

from .mimic.config import g1  # noqa: F401
