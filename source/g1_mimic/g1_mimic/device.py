"""The one decision of where the task runs: CUDA when torch sees a device, else the CPU.

The task cfgs (``apply_cpu_defaults`` of the env and agent cfgs) size themselves from it; scripts and
sessions use :func:`default_device` unless a ``--device`` is given.
"""

from __future__ import annotations

import torch


def cuda_available() -> bool:
    """True when torch sees a CUDA device."""
    return torch.cuda.is_available()


def default_device() -> str:
    """``cuda:0`` when torch sees a CUDA device, else ``cpu``."""
    return "cuda:0" if cuda_available() else "cpu"
