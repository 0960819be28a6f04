"""Runs the stages in order over a run directory.

Data flows one way: data → (profiling → encode → quantize → graph) → nn/train → eval → report.
Today the pipeline covers the collaborative-filtering path (data → backbone → trainer → metrics);
the LLM stages plug in ahead of the trainer.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from pathlib import Path

import torch

from . import __version__
from .config import DataConfig, RunConfig
from .data import DataSplit, InteractionDataset, implicit_feedback, kcore_filter, load_dataset, split_dataset
from .nn import build_backbone
from .train import Trainer, TrainResult
from .train.utils import seed_everything

logger = logging.getLogger(__name__)


def prepare_data(cfg: DataConfig) -> tuple[InteractionDataset, DataSplit]:
    """Load, filter and split the dataset that ``cfg`` describes."""
    dataset = load_dataset(
        cfg.name,
        data_dir=cfg.data_dir,
        download=cfg.download,
        path=cfg.path,
        columns=cfg.columns or None,
        sep=cfg.sep,
        domain=cfg.domain,
        duplicates=cfg.duplicates,
    )
    method = cfg.split
    if method == "auto":
        method = "predefined" if dataset.predefined_split is not None else "random"
    if method != "predefined":
        dataset = kcore_filter(implicit_feedback(dataset, cfg.min_rating), cfg.kcore)
    elif cfg.min_rating is not None or cfg.kcore > 1:
        raise ValueError("data.min_rating and data.kcore cannot change a predefined split; set data.split=random")
    return dataset, split_dataset(dataset, method, tuple(cfg.ratios), cfg.seed)


def model_kwargs(config: RunConfig) -> dict:
    """Constructor arguments of the backbone ``config.model`` names (also stored in checkpoints)."""
    kwargs = {"embedding_dim": config.model.embedding_dim, "seed": config.train.seed, **config.model.params}
    if config.model.name != "mf":
        kwargs.setdefault("num_layers", config.model.num_layers)
    return kwargs


def build_model(config: RunConfig, split: DataSplit) -> torch.nn.Module:
    """The backbone named by ``config.model``, initialised from ``config.train.seed``."""
    seed_everything(config.train.seed)
    return build_backbone(config.model.name, split.num_users, split.num_items, **model_kwargs(config))


def environment() -> dict[str, str]:
    """Machine and library versions, recorded next to every result."""
    return {
        "autograph_rec": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "cpu_threads": str(torch.get_num_threads()),
        "cuda": torch.version.cuda or "none",
    }


def run_training(config: RunConfig, progress: bool = True) -> TrainResult:
    """Train and evaluate one backbone; writes ``config.yaml``, ``metrics.json`` and more to ``config.output``."""
    run_dir = Path(config.output) if config.output else None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        config.to_yaml(run_dir / "config.yaml")
    t0 = time.perf_counter()
    dataset, split = prepare_data(config.data)
    logger.info("data %s ready in %.1fs: %s", dataset.name, time.perf_counter() - t0, split.summary())
    model = build_model(config, split)
    meta = {"model": config.model.name, "kwargs": model_kwargs(config)}
    result = Trainer(model, split, config.train, config.eval, run_dir=run_dir, progress=progress, model_meta=meta).fit()
    if run_dir is not None:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        metrics.update({"dataset": split.summary(), "environment": environment()})
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return result
