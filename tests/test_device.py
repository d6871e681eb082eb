import torch

from lossviz.core.device import DEVICE_ENV_VAR, default_device, describe_device


def test_env_var_wins(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV_VAR, "cpu")
    assert default_device() == torch.device("cpu")


def test_default_follows_cuda_availability(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert default_device().type == expected


def test_description_names_the_device(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV_VAR, "cpu")
    assert describe_device().startswith("cpu (")
