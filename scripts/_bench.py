"""Shared bits of the benchmark scripts: machine description and result files."""

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


def header(title: str, extra: str = "") -> str:
    cmd = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"## {title}\n\n- command: `{cmd}`\n- date: {now}\n- machine: {machine()}\n{extra}\n"


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
