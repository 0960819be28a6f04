"""Pairwise (BPR) training of a graph backbone with validation-based model selection."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..config import EvalConfig, TrainConfig
from ..data import DataError, DataSplit, NegativeSampler, bpr_batches
from ..eval import RankingEvaluator
from ..graph.bipartite import bipartite_edge_index
from ..nn.propagation import normalized_adjacency
from .allocator import keep_freed_memory
from .early_stopping import EarlyStopping
from .utils import make_adam, resolve_device, seed_everything

logger = logging.getLogger(__name__)

#: ``hook(epoch, valid_metrics)`` called after each validation; may raise to abort (e.g. Optuna pruning).
EvalHook = Callable[[int, dict[str, float]], None]


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns (and writes to ``metrics.json``)."""

    valid: dict[str, float]
    test: dict[str, float]
    best_epoch: int
    epochs_run: int
    seconds: float
    seconds_per_epoch: float
    seconds_per_eval: float
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "test": self.test,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "seconds": self.seconds,
            "seconds_per_epoch": self.seconds_per_epoch,
            "seconds_per_eval": self.seconds_per_eval,
        }


class Trainer:
    r"""Trains a :class:`~autograph_rec.nn.RecommenderBackbone` with BPR and early stopping.

    Each epoch visits every training interaction once with one uniform negative (never a
    training positive). Every ``eval_every`` epochs the model is ranked against all items on
    the **validation** set (training items masked); the best epoch by ``metric`` is restored
    at the end and evaluated once on the test set (training and validation items masked).

    Args:
        model (torch.nn.Module): a backbone following the ``RecommenderBackbone`` contract.
        split (DataSplit): train / valid / test interactions.
        config (TrainConfig): optimisation and selection settings.
        eval_config (EvalConfig): metrics and cutoffs.
        run_dir (str or Path, optional): where ``metrics.json``, ``history.json`` and the
            checkpoint go.
        eval_hook (callable, optional): called as ``hook(epoch, valid_metrics)`` after each
            validation (used for Optuna pruning).
        progress (bool): show a tqdm progress bar.
        edge_index (Tensor, optional): the propagation graph ``[2, E]`` in the homogeneous
            user+item(+extra) node space; default: the training user-item graph.
        model_meta (dict, optional): ``{"model": registry name, "kwargs": constructor args}``,
            written next to the checkpoint so :func:`~autograph_rec.train.load_checkpoint` can
            rebuild the model. Without it the sidecar records no constructor arguments and
            ``load_checkpoint`` says so (the weights still load into a model built by hand).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        split: DataSplit,
        config: TrainConfig | None = None,
        eval_config: EvalConfig | None = None,
        run_dir: str | Path | None = None,
        eval_hook: EvalHook | None = None,
        progress: bool = True,
        edge_index: torch.Tensor | None = None,
        model_meta: dict[str, Any] | None = None,
    ):
        self.config = config or TrainConfig()
        self.eval_config = eval_config or EvalConfig()
        self.split = split
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.eval_hook = eval_hook
        self.progress = progress
        self.device = resolve_device(self.config.device)
        self.model = model.to(self.device)
        self._edge_index = edge_index
        # kwargs None, not {}: rebuilding with default arguments would fail on the weights' shapes
        self.model_meta = model_meta or {"model": type(model).__name__.lower(), "kwargs": None}
        self.evaluator = RankingEvaluator(
            ks=tuple(self.eval_config.ks),
            metrics=tuple(self.eval_config.metrics),
            batch_size=self.eval_config.batch_size,
            mode=self.eval_config.mode,
            num_negatives=self.eval_config.num_negatives,
            seed=self.config.seed,
        )
        # the exact key the evaluator returns: 'recall@50' with eval.ks=[5, 10, 20] passed a check on
        # the name alone and raised KeyError after the first validation, i.e. after training epochs
        if self.config.metric not in self.evaluator.metric_names():
            raise ValueError(
                f"train.metric {self.config.metric!r} must be one of the evaluated metrics "
                f"{list(self.eval_config.metrics)} with a cutoff from {list(self.eval_config.ks)}, e.g. 'recall@20'"
            )

    # ------------------------------------------------------------------ graph
    def build_graph(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The training ``edge_index`` and its normalised sparse adjacency (built once)."""
        if self._edge_index is not None:
            edge_index = self._edge_index.to(self.device)
        else:
            train = self.split.train
            edge_index = bipartite_edge_index(train.user, train.item, self.split.num_users, self.device)
        num_nodes = getattr(self.model, "num_nodes", self.split.num_users + self.split.num_items)
        adj = normalized_adjacency(edge_index, num_nodes)
        return edge_index, adj

    # --------------------------------------------------------------- evaluate
    @torch.no_grad()
    def evaluate(self, adj: torch.Tensor, part: str = "valid") -> dict[str, float]:
        """Full-ranking metrics on ``part``; test masks training **and** validation items."""
        self.model.eval()
        user_emb, item_emb = self.model.user_item_embeddings(adj)
        exclude = [self.split.csr("train")] + ([self.split.csr("valid")] if part == "test" else [])
        return self.evaluator.evaluate((user_emb, item_emb), self.split.csr(part), exclude, device=self.device)

    # -------------------------------------------------------------------- fit
    def fit(self) -> TrainResult:
        cfg = self.config
        seed_everything(cfg.seed, python=False)  # leave the caller's global random alone
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        if cfg.keep_freed_memory and self.device.type == "cpu":
            keep_freed_memory()
        self.split.require_train_for("valid")
        generator = torch.Generator(device=self.device).manual_seed(cfg.seed)
        edge_index, adj = self.build_graph()
        sampler = NegativeSampler(self.split.train, self.split.num_users, self.split.num_items, self.device)
        optimizer = make_adam(self.model.parameters(), cfg.lr)
        stopper = EarlyStopping(cfg.patience, cfg.warmup_epochs)
        history: list[dict[str, Any]] = []
        train_seconds, eval_seconds, n_evals = 0.0, 0.0, 0
        start = time.perf_counter()
        bar = tqdm(range(1, cfg.epochs + 1), desc=f"train {type(self.model).__name__}", disable=not self.progress, unit="ep")
        epoch = 0
        for epoch in bar:
            t0 = time.perf_counter()
            self.model.train()
            self.model.on_epoch_start(edge_index, generator)
            totals: dict[str, float] = {}
            n_batches = 0
            for users, pos, neg in bpr_batches(self.split.train, sampler, cfg.batch_size, generator):
                loss, parts = self.model.training_loss(adj, users, pos, neg, cfg.reg_weight)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                n_batches += 1
                for k, v in {"loss": loss.item(), **parts}.items():
                    totals[k] = totals.get(k, 0.0) + float(v)
            if n_batches == 0:
                raise DataError("the split has no training interactions: nothing to train on")
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss became {float(loss)} at epoch {epoch}; lower train.lr")
            epoch_seconds = time.perf_counter() - t0
            train_seconds += epoch_seconds
            record: dict[str, Any] = {"epoch": epoch, "seconds": epoch_seconds, **{k: v / n_batches for k, v in totals.items()}}
            if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
                t1 = time.perf_counter()
                metrics = self.evaluate(adj, "valid")
                eval_seconds += time.perf_counter() - t1
                n_evals += 1
                record["valid"] = metrics
                improved = stopper.step(epoch, metrics[cfg.metric], self.model)
                logger.info("epoch %d loss %.4f valid %s %.4f%s", epoch, record["loss"], cfg.metric, metrics[cfg.metric], " *" if improved else "")
                bar.set_postfix(loss=f"{record['loss']:.4f}", **{cfg.metric: f"{metrics[cfg.metric]:.4f}"}, best=stopper.best_epoch)
                history.append(record)
                if self.eval_hook is not None:
                    self.eval_hook(epoch, metrics)
                if stopper.should_stop(epoch):
                    logger.info("early stop at epoch %d (best epoch %d)", epoch, stopper.best_epoch)
                    break
            else:
                history.append(record)
        bar.close()
        stopper.restore(self.model)
        t1 = time.perf_counter()
        valid = self.evaluate(adj, "valid")
        # Hyperparameter searches switch the test pass off: a trial never even computes it.
        test = self.evaluate(adj, "test") if cfg.evaluate_test else {}
        eval_seconds += time.perf_counter() - t1
        n_evals += 2 if cfg.evaluate_test else 1
        result = TrainResult(
            valid=valid,
            test=test,
            best_epoch=stopper.best_epoch,
            epochs_run=epoch,
            seconds=time.perf_counter() - start,
            seconds_per_epoch=train_seconds / max(epoch, 1),
            seconds_per_eval=eval_seconds / max(n_evals, 1),
            history=history,
        )
        if self.run_dir is not None:
            self.save(result)
        return result

    def save(self, result: TrainResult) -> None:
        """Write ``metrics.json``, ``history.json`` and (optionally) the checkpoint to the run directory."""
        from .checkpoint import save_checkpoint

        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "metrics.json").write_text(json.dumps(result.to_json(), indent=2))
        (self.run_dir / "history.json").write_text(json.dumps(result.history, indent=1))
        if self.config.save_checkpoint:
            meta = {
                **self.model_meta,
                "num_users": self.split.num_users,
                "num_items": self.split.num_items,
                "best_epoch": result.best_epoch,
            }
            save_checkpoint(self.model, self.run_dir / "model", meta)
