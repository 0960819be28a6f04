"""Shared bits of the benchmark scripts: machine description, the training protocol, result files."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    # threads are a per-run setting (each script states its own), not a machine fact
    gpu = f"CUDA {torch.version.cuda}" if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()} cores ({cpu}), torch {torch.__version__}, Python {platform.python_version()}, {gpu}"


def code_version() -> str:
    """The commit the code runs from (``git describe --always --dirty``), or ``unknown``
    outside a git checkout: recorded with every result, since a resume key cannot see code."""
    import subprocess

    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def header(title: str, extra: str = "") -> str:
    cmd = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"## {title}\n\n- command: `{cmd}`\n- date: {now}\n- code: {code_version()}\n"
            f"- machine: {machine()}\n{extra}\n")


def write_result(name: str, markdown: str, payload: dict) -> Path:
    """Write ``docs/results/<name>.md`` (human) and ``.json`` (machine) and return the .md path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))
    path = RESULTS / f"{name}.md"
    path.write_text(markdown)
    return path


def pct_change(values: list[float], base: list[float]) -> str:
    """Relative change of the mean of ``values`` over the mean of ``base``, e.g. ``+1.2 %``."""
    b = sum(base) / len(base)
    return f"{(sum(values) / len(values) - b) / b * 100:+.1f} %"


def mean_std(values: list[float]) -> str:
    import statistics

    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def protocol_overrides(dataset: str, model: str, *, seed: int, dim: int, epochs: int, threads: int,
                       data_dir: str | None = None) -> list[str]:
    """The training protocol every AutoGraph benchmark shares, as ``RunConfig`` overrides.

    One seed drives split, initialisation, sampling and quantizer; validation every 5 epochs,
    patience 5 after a 20-epoch warm-up; Recall/NDCG at 10 and 20. ``bench_autograph.py`` and
    ``bench_tuned_autograph.py`` both build on this list, so their rows stay comparable.
    """
    sets = [
        f"data.name={dataset}", f"data.seed={seed}", f"train.seed={seed}", f"quantize.seed={seed}",
        f"model.name={model}", f"model.embedding_dim={dim}", f"train.epochs={epochs}",
        "train.eval_every=5", "train.patience=5", "train.warmup_epochs=20", "train.save_checkpoint=false",
        f"train.num_threads={threads}", "eval.ks=[10,20]", "eval.metrics=[recall,ndcg]",
    ]
    if data_dir:
        sets.append(f"data.data_dir={data_dir}")
    return sets
