"""The run report: a metrics table, training curves and code-usage histograms."""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def metrics_table(valid: dict[str, float], test: dict[str, float]) -> str:
    """Markdown table of validation and test metrics."""
    rows = ["| metric | valid | test |", "|---|---|---|"]
    for key in test:
        if key == "num_users":
            continue
        rows.append(f"| {key} | {valid.get(key, float('nan')):.4f} | {test[key]:.4f} |")
    return "\n".join(rows)


def plot_training_curves(history: list[dict[str, Any]], metric: str, path: Path) -> Path:
    """Loss per epoch and the validation metric per evaluation, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax1.plot([h["epoch"] for h in history], [h["loss"] for h in history])
    ax1.set(xlabel="epoch", ylabel="training loss", title="loss")
    evals = [h for h in history if "valid" in h]
    ax2.plot([h["epoch"] for h in evals], [h["valid"][metric] for h in evals], marker="o")
    ax2.set(xlabel="epoch", ylabel=f"valid {metric}", title="validation")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_code_usage(codes: dict[str, np.ndarray], sizes: dict[str, int], path: Path) -> Path:
    """Histogram of how many users/items use each code, one panel per (side, level)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = max(c.shape[1] for c in codes.values())
    fig, axes = plt.subplots(len(codes), levels, figsize=(3.2 * levels, 2.6 * len(codes)), squeeze=False)
    for r, (side, c) in enumerate(codes.items()):
        for level in range(levels):
            ax = axes[r][level]
            if level >= c.shape[1]:
                ax.axis("off")
                continue
            counts = np.bincount(c[:, level], minlength=sizes[side])
            active = (counts > 0).mean()
            ax.bar(np.arange(len(counts)), np.sort(counts)[::-1], width=1.0)
            ax.set(title=f"{side} level {level}: {active:.0%} active", xlabel="code (by usage)", ylabel="count")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(run_dir: str | Path, result, stage_log: dict[str, str] | None = None, metric: str = "recall@20") -> Path:
    """Write ``report/summary.md``, ``report/summary.html`` and the PNGs for a finished run."""
    run_dir = Path(run_dir)
    out = run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    images = [plot_training_curves(result.history, metric, out / "training_curves.png")]
    codes_dir = run_dir / "codes"
    if (codes_dir / "users.npy").exists():
        manifest = json.loads((codes_dir / "manifest.json").read_text())
        codes = {side: np.load(codes_dir / f"{side}.npy") for side in ("users", "items")}
        sizes = {side: manifest["stats"][side]["codebook_size"] for side in codes}
        images.append(plot_code_usage(codes, sizes, out / "code_usage.png"))
    lines = [
        f"# Run report: {run_dir.name}",
        "",
        f"Best epoch {result.best_epoch} of {result.epochs_run} (selected on validation {metric}); "
        f"{result.seconds:.1f} s, {result.seconds_per_epoch:.3f} s/epoch.",
        "",
        metrics_table(result.valid, result.test),
        "",
    ]
    if stage_log:
        lines += ["Stages: " + ", ".join(f"{k} ({v})" for k, v in stage_log.items()), ""]
    lines += [f"![{p.stem}]({p.name})" for p in images]
    md = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(md)
    body = "".join(
        f"<p>{html.escape(line)}</p>" if not line.startswith(("|", "![")) else "" for line in lines[:3]
    )
    table = "<table border=1 cellpadding=4><tr><th>metric</th><th>valid</th><th>test</th></tr>" + "".join(
        f"<tr><td>{k}</td><td>{result.valid.get(k, float('nan')):.4f}</td><td>{v:.4f}</td></tr>"
        for k, v in result.test.items() if k != "num_users"
    ) + "</table>"
    imgs = "".join(f'<p><img src="{p.name}" alt="{p.stem}"></p>' for p in images)
    (out / "summary.html").write_text(f"<!doctype html><html><body><h1>{html.escape(run_dir.name)}</h1>{body}{table}{imgs}</body></html>")
    return out / "summary.md"
