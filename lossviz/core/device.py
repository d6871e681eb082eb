"""Where the core computes: CUDA when present, the CPU otherwise."""

from __future__ import annotations

import os

import torch

DEVICE_ENV_VAR = "LOSSVIZ_DEVICE"


def default_device() -> torch.device:
    """The device new tensors are created on.

    ``LOSSVIZ_DEVICE`` (e.g. ``cpu``, ``cuda``, ``cuda:1``) wins when set;
    otherwise ``cuda`` when available, else ``cpu``. Functions that receive
    tensors compute on the tensors' own device instead.
    """
    requested = os.environ.get(DEVICE_ENV_VAR, "").strip()
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe_device(device: torch.device | None = None) -> str:
    """A short human label, e.g. ``"cuda (NVIDIA H100)"`` or ``"cpu (2 threads)"``."""
    device = device or default_device()
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"{device.type} ({threads} thread{'s' if threads != 1 else ''})"
