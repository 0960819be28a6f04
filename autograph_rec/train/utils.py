"""Small helpers shared by training code: devices, seeds and the optimizer."""

from __future__ import annotations

import random

import numpy as np
import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → the first CUDA device if one is available, else the CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available; use device=cpu or auto")
    return dev


def seed_everything(seed: int, python: bool = True) -> None:
    """Seed NumPy and torch (all devices), and Python's ``random`` unless ``python=False``.

    The trainer and the pipeline pass ``python=False``: nothing of ours draws from Python's
    global ``random``, and reseeding it on every run made PyG's ``Sequential`` (which names its
    generated ``forward`` module with ``random.randrange``) give two stacks built after two runs
    the same name, so the second one ran the first one's ``forward``.
    """
    if python:
        random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


_FUSED_ADAM_DEVICES = ("cpu", "cuda")


def make_adam(params, lr: float) -> torch.optim.Adam:
    r"""Adam over the trainable :obj:`params`, fused into one kernel where torch supports it.

    The default (``foreach``) Adam allocates several full-size temporaries per
    step; on Amazon-book's embedding table (20k x 64) a step took 2.0-4.7 ms
    that way and 0.3-0.8 ms fused on this project's 2-core CPU
    (``scripts/bench_spmm.py``, docs/benchmarks.md §2c), the foreach step being
    about as costly as a propagation product. Same update rule;
    results differ only by float rounding. Falls back to the default
    implementation on devices or dtypes without a fused kernel.
    """
    params = [p for p in params if p.requires_grad]
    # torch checks fused support only at the first step(); decide here instead
    fusable = all(p.is_floating_point() and p.device.type in _FUSED_ADAM_DEVICES for p in params)
    return torch.optim.Adam(params, lr=lr, fused=True if fusable and params else None)

