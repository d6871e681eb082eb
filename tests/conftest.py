"""Shared test setup: the CUDA marker skips cleanly without a GPU."""

from __future__ import annotations

import pytest
import torch

HAS_CUDA = torch.cuda.is_available()

# Parametrize a test over every device this machine has.
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


def pytest_collection_modifyitems(config, items):
    if HAS_CUDA:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (none on this machine)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
