"""The run report: a metrics table, training curves and code-usage histograms."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def metric_rows(valid: dict[str, float], test: dict[str, float]) -> list[tuple[str, str, str]]:
    """``(metric, valid, test)`` cells, ``-`` where a split has no value (no test metrics with
    ``train.evaluate_test=false``)."""
    def cell(metrics: dict[str, float], key: str) -> str:
        return f"{metrics[key]:.4f}" if key in metrics else "-"

    return [(k, cell(valid, k), cell(test, k)) for k in {**valid, **test} if k != "num_users"]


def metrics_table(valid: dict[str, float], test: dict[str, float]) -> str:
    """Markdown table of validation and test metrics."""
    rows = ["| metric | valid | test |", "|---|---|---|"]
    rows += [f"| {k} | {v} | {t} |" for k, v, t in metric_rows(valid, test)]
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


def write_report(run_dir: str | Path, result, stage_log: dict[str, str] | None = None, metric: str = "recall@20",
                 codes: dict[str, np.ndarray] | None = None, sizes: dict[str, int] | None = None) -> Path:
    """Write ``report/summary.md``, ``report/summary.html`` and the PNGs for a finished run.

    ``codes`` (``{"users": [N, levels], "items": [M, levels]}``) and their codebook ``sizes`` are
    the ones this run trained with (the pipeline hands them over); a run without codes (vanilla)
    gets no code-usage plot, whatever an earlier run left in its folder.
    """
    run_dir = Path(run_dir)
    out = run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    images = [plot_training_curves(result.history, metric, out / "training_curves.png")]
    if codes is not None:
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
        f"<tr><td>{k}</td><td>{v}</td><td>{t}</td></tr>" for k, v, t in metric_rows(result.valid, result.test)
    ) + "</table>"
    imgs = "".join(f'<p><img src="{p.name}" alt="{p.stem}"></p>' for p in images)
    (out / "summary.html").write_text(f"<!doctype html><html><body><h1>{html.escape(run_dir.name)}</h1>{body}{table}{imgs}</body></html>")
    return out / "summary.md"
