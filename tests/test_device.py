"""default_device and describe_device against fixed answers, with CUDA faked either way."""

import pytest
import torch

from lossviz.core.device import DEVICE_ENV_VAR, default_device, describe_device


def fake_cuda(monkeypatch, available: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)


@pytest.mark.parametrize("available", [True, False])
@pytest.mark.parametrize(
    "value,want",
    [
        ("cpu", torch.device("cpu")),
        ("cuda", torch.device("cuda")),
        ("cuda:1", torch.device("cuda", 1)),
        ("  cpu\n", torch.device("cpu")),  # surrounding blanks are ignored
    ],
)
def test_the_variable_wins_whether_cuda_is_there_or_not(monkeypatch, available, value, want):
    fake_cuda(monkeypatch, available)
    monkeypatch.setenv(DEVICE_ENV_VAR, value)
    assert default_device() == want


@pytest.mark.parametrize("unset", ["absent", "", "   "])
@pytest.mark.parametrize("available,want", [(True, "cuda"), (False, "cpu")])
def test_without_the_variable_cuda_when_available_else_cpu(monkeypatch, unset, available, want):
    fake_cuda(monkeypatch, available)
    if unset == "absent":
        monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(DEVICE_ENV_VAR, unset)
    assert default_device() == torch.device(want)


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cpu cuda"])
def test_a_bad_value_is_refused_not_ignored(monkeypatch, bad):
    fake_cuda(monkeypatch, False)
    monkeypatch.setenv(DEVICE_ENV_VAR, bad)
    with pytest.raises(RuntimeError):
        default_device()


@pytest.mark.parametrize("threads,want", [(1, "cpu (1 thread)"), (6, "cpu (6 threads)")])
def test_the_cpu_is_described_by_its_threads(monkeypatch, threads, want):
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    monkeypatch.setenv(DEVICE_ENV_VAR, "cpu")
    assert describe_device() == want
    assert describe_device(torch.device("cpu")) == want


def test_a_cuda_device_is_described_by_its_name(monkeypatch):
    asked = []

    def name(device):
        asked.append(device)
        return "Fake GPU 80GB"

    monkeypatch.setattr(torch.cuda, "get_device_name", name)
    monkeypatch.setenv(DEVICE_ENV_VAR, "cuda:1")
    assert describe_device() == "cuda (Fake GPU 80GB)"
    assert asked == [torch.device("cuda", 1)]
