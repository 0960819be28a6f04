"""Runs the stages in order over a run directory.

Data flows one way: data → profiles (LLM) → vectors (encoder) → codes (quantizer) → graph →
model training → metrics → report. Each stage writes its artifacts and a manifest into
``<output>/<stage>/`` (see :mod:`autograph_rec.artifacts`) and is skipped when its key — its own
settings plus the keys of its inputs — is unchanged, so a second run, or an Optuna trial that
changes only training settings, never repeats an LLM call or a quantizer fit.
"""

from __future__ import annotations

import json
import logging
import platform
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .artifacts import StageDir, stable_hash
from .config import ConfigError, DataConfig, LLMConfig, QuantizeConfig, RunConfig
from .data import DataSplit, InteractionDataset, implicit_feedback, kcore_filter, load_dataset, split_dataset
from .nn import build_backbone
from .train import Trainer, TrainResult
from .train.trainer import EvalHook
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
        item_features_path=cfg.item_features_path,
    )
    method = cfg.split
    if method == "auto":
        method = "predefined" if dataset.predefined_split is not None else "random"
    if method != "predefined":
        dataset = kcore_filter(implicit_feedback(dataset, cfg.min_rating), cfg.kcore)
    elif cfg.min_rating is not None or cfg.kcore > 1:
        raise ValueError("data.min_rating and data.kcore cannot change a predefined split; set data.split=random")
    return dataset, split_dataset(dataset, method, tuple(cfg.ratios), cfg.seed, cfg.valid_seed)


def model_kwargs(config: RunConfig) -> dict:
    """Constructor arguments of the backbone ``config.model`` names (also stored in checkpoints)."""
    kwargs = {"embedding_dim": config.model.embedding_dim, "seed": config.train.seed, **config.model.params}
    if config.model.name != "mf":
        kwargs.setdefault("num_layers", config.model.num_layers)
    return kwargs


def build_model(config: RunConfig, split: DataSplit) -> torch.nn.Module:
    """The backbone named by ``config.model``, initialised from ``config.train.seed``."""
    seed_everything(config.train.seed, python=False)
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


#: What a finished run leaves in its folder besides the stage folders: removed when the next run
#: in that folder starts training, so no file of an earlier run sits beside the new one's.
RUN_OUTPUTS = ("config.yaml", "metrics.json", "history.json", "model.pt", "model.json", "report")


def start_run_folder(config: RunConfig, keep: tuple[str, ...] = ()) -> None:
    """Clear an earlier run's :data:`RUN_OUTPUTS` (and its ``graph.pt`` unless kept) from
    ``config.output`` and write this run's ``config.yaml``. Called once the data and stages are
    ready, so a run that fails before training leaves the earlier run whole and consistent."""
    run_dir = Path(config.output)
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in (*RUN_OUTPUTS, "graph.pt"):
        path = run_dir / name
        if name in keep:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    config.to_yaml(run_dir / "config.yaml")


def _train_and_save(config: RunConfig, split: DataSplit, model: torch.nn.Module, meta: dict, progress: bool,
                    eval_hook: EvalHook | None = None) -> TrainResult:
    run_dir = Path(config.output) if config.output else None
    if run_dir is not None:
        start_run_folder(config, keep=("graph.pt",) if "autograph" in meta else ())
    result = Trainer(model, split, config.train, config.eval, run_dir=run_dir, progress=progress, model_meta=meta,
                     eval_hook=eval_hook).fit()
    if run_dir is not None:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        metrics.update({"dataset": split.summary(), "environment": environment()})
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return result


def run_training(config: RunConfig, progress: bool = True, eval_hook: EvalHook | None = None) -> TrainResult:
    """Train and evaluate one (vanilla) backbone; writes ``config.yaml``, ``metrics.json`` and more to ``config.output``.

    ``eval_hook(epoch, valid_metrics)`` runs after each validation (e.g.
    :class:`~autograph_rec.hpo.OptunaPruningHook`)."""
    check_training_settings(config)
    t0 = time.perf_counter()
    dataset, split = prepare_data(config.data)
    logger.info("data %s ready in %.1fs: %s", dataset.name, time.perf_counter() - t0, split.summary())
    model = build_model(config, split)
    meta = {"model": config.model.name, "kwargs": model_kwargs(config)}
    return _train_and_save(config, split, model, meta, progress, eval_hook)


def check_training_settings(config: RunConfig) -> None:
    """Reject the ``train`` / ``eval`` settings that the trainer would reject only after the data
    stage, or (``train.metric`` with a cutoff not in ``eval.ks``) after the first validation.

    Raises:
        ConfigError: naming the key.
    """
    from .eval import RankingEvaluator
    from .train.utils import resolve_device

    ev = config.eval
    try:
        evaluator = RankingEvaluator(ks=tuple(ev.ks), metrics=tuple(ev.metrics), batch_size=ev.batch_size,
                                     mode=ev.mode, num_negatives=ev.num_negatives)
    except ValueError as exc:
        raise ConfigError(f"eval: {exc}") from None
    evaluated = evaluator.metric_names()
    if config.train.metric not in evaluated:
        raise ConfigError(f"train.metric {config.train.metric!r} is not evaluated; choose one of {evaluated} "
                          "(eval.metrics x eval.ks)")
    try:
        resolve_device(config.train.device)
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(f"train.device {config.train.device!r}: {exc}") from None


def check_stage_settings(config: RunConfig) -> None:
    """Reject, before any stage runs, the settings that only the training or quantizer stage
    would reject, i.e. after the data, LLM-profile, vector and code stages before it (a typo in
    ``autograph.aggregation`` or ``train.metric`` must not wait for hours of profiling).

    Raises:
        ConfigError: naming the key.
    """
    from .encode import encoder_kind
    from .nn.autograph import AGGREGATIONS
    from .nn.metapath import check_paths
    from .quantize import build_quantizer

    check_training_settings(config)
    if not config.autograph.enabled:
        return
    try:
        encoder_kind(config.encode.encoder)
    except ValueError as exc:
        raise ConfigError(f"encode.encoder: {exc}") from None
    ag, q = config.autograph, config.quantize
    if ag.aggregation not in AGGREGATIONS:
        raise ConfigError(f"autograph.aggregation must be one of {AGGREGATIONS}, got {ag.aggregation!r}")
    try:
        check_paths(ag.paths)
    except ValueError as exc:
        raise ConfigError(f"autograph.paths: {exc}") from None
    try:
        name, kwargs = quantizer_args(q, codebook_size=2)  # the sizes are checked by QuantizeConfig
        build_quantizer(name, **kwargs)._validate_params()
    except ValueError as exc:
        raise ConfigError(f"quantize: {exc}") from None
    if ag.levels > q.num_levels:
        raise ConfigError(f"autograph.levels={ag.levels} exceeds quantize.num_levels={q.num_levels}, "
                          "the code levels the quantizer makes")
    if ag.levels == 0:  # allowed (an ablation's zero point), but easy to set by mistake
        logger.warning("autograph.levels=0: no factor edges, so this AutoGraph run propagates over the "
                       "user-item graph alone, as the plain backbone does; set autograph.levels >= 1 to use the codes")


def quantizer_args(q: QuantizeConfig, codebook_size: int) -> tuple[str, dict[str, Any]]:
    """``(registry name, constructor kwargs)`` of the quantizer ``q`` describes, for one side.

    ``quantize.epochs`` goes to the quantizers that train (RQ-VAE) under any of its names.

    Raises:
        ValueError: unknown ``quantize.method``.
    """
    from .quantize import quantizer_name

    name = quantizer_name(q.method)
    kwargs: dict[str, Any] = {"num_levels": q.num_levels, "codebook_size": codebook_size, "seed": q.seed}
    if name == "rqvae":
        kwargs["epochs"] = q.epochs
    return name, kwargs


def autograph_kwargs(config: RunConfig) -> dict[str, Any]:
    """The :class:`~autograph_rec.nn.autograph.AutoGraph` arguments (besides backbone and graph)
    that ``config`` sets."""
    ag = config.autograph
    return {"aggregation": ag.aggregation, "paths": tuple(ag.paths), "factor_l2": ag.factor_l2,
            "seed": config.train.seed,
            # a plain-mode setting: the other modes' backbone graph has no factor edges
            "view_factor_weight": ag.view_factor_weight if ag.aggregation == "plain" else None}


def _auto_codebook(size: int, n: int) -> int:
    return size if size > 0 else int(min(256, max(8, n // 16)))


class AutoGraphPipeline:
    r"""AutoGraph end to end: profile → encode → quantize → graph → train → evaluate → report.

    From Shan et al., "LLM-based Automated Graph Construction for Recommendation" (KDD 2025).
    Every stage is a method that returns its artifact and caches it in the run directory;
    :meth:`run` calls them in order.

    Args:
        config (RunConfig): the run's settings; ``config.output`` is the run directory.
        progress (bool): show progress bars.
        stage_root (str or Path, optional): keep the profiles / vectors / codes stages in
            ``<stage_root>/<stage>/<key>/`` instead of ``<output>/<stage>/``, so many runs (e.g.
            Optuna trials) share them and several settings of one stage (quantizers) coexist.
    """

    def __init__(self, config: RunConfig, progress: bool = True, stage_root: str | Path | None = None):
        if not config.output:
            raise ValueError("AutoGraphPipeline needs config.output (the run directory)")
        check_stage_settings(config)
        self.config = config
        self.progress = progress
        self.run_dir = Path(config.output)
        self.stage_root = Path(stage_root) if stage_root is not None else None
        self.stage_log: dict[str, str] = {}
        self._data: tuple[InteractionDataset, DataSplit] | None = None
        self._fingerprint: str | None = None
        self._codes: dict[str, Any] | None = None  # quantize()'s result, read once per pipeline

    # ---------------------------------------------------------------- data
    @property
    def data(self) -> tuple[InteractionDataset, DataSplit]:
        if self._data is None:
            self._data = prepare_data(self.config.data)
        return self._data

    def _data_key(self) -> str:
        """The data as the LLM-side stages see it: a digest of its content, not of the settings
        that located it (see :func:`~autograph_rec.data.fingerprint.training_fingerprint`)."""
        if self._fingerprint is None:
            from .data.fingerprint import training_fingerprint

            self._fingerprint = training_fingerprint(*self.data)
        return self._fingerprint

    def _stage(self, name: str, settings: dict[str, Any]) -> StageDir:
        stage = StageDir(self.run_dir, name, stable_hash(settings))
        if self.stage_root is not None:
            stage.path = self.stage_root / name / stage.key
        return stage

    def _loaded(self, stage: StageDir, name: str, rows):
        """``rows`` (read from ``stage``'s file ``name``) if it has one row per user / item."""
        _, split = self.data
        kind = "users" if name.startswith("users") else "items"
        expected = split.num_users if kind == "users" else split.num_items
        if len(rows) != expected:  # only a manifest older than the checksums can let this through
            raise RuntimeError(f"stage {stage.name}: {stage.file(name)} has {len(rows)} rows for {expected} {kind}; "
                               f"it was written for other data. Delete {stage.path} to rebuild it.")
        return rows

    def _skip(self, stage: StageDir) -> bool:
        fresh = stage.is_fresh()
        self.stage_log[stage.name] = "cached" if fresh else "ran"
        if fresh:
            logger.info("stage %s: inputs unchanged, reusing %s", stage.name, stage.path)
        return fresh

    # ------------------------------------------------------------ profiles
    def profile_settings(self) -> dict[str, Any]:
        from .profiling.profiler import PROMPT_DATA_VERSION
        from .profiling.templates import get_template

        dataset, _ = self.data
        templates = [f"{t.id}@{t.version}" for t in (get_template("user", dataset.domain), get_template("item", dataset.domain))]
        settings = {"data": self._data_key(), "llm": llm_key(self.config.llm), "templates": templates,
                    "prompt_data": PROMPT_DATA_VERSION}
        if self.config.llm.backend != "none":  # the template-only text is never checked
            from .profiling.quality import CHECKS_VERSION

            settings["checks"] = CHECKS_VERSION
        return settings

    def profile(self) -> dict[str, list[str]]:
        """User and item texts (LLM profiles, or the template-only text with ``llm.backend=none``)."""
        stage = self._stage("profiles", self.profile_settings())
        if not self._skip(stage):
            from .profiling.stage import run_profiling

            stage.begin()
            dataset, split = self.data
            texts, stats = run_profiling(dataset, split, self.config.llm, stage.path, progress=self.progress)
            stage.finish(["users.jsonl", "items.jsonl"], self.profile_settings(), stats)
        return {kind: self._loaded(stage, f"{kind}.jsonl", _read_texts(stage.file(f"{kind}.jsonl")))
                for kind in ("users", "items")}

    # ------------------------------------------------------------- vectors
    def vector_settings(self) -> dict[str, Any]:
        from .encode import encoder_kind

        return {"profiles": stable_hash(self.profile_settings()), "encoder": encoder_kind(self.config.encode.encoder)}

    def encode(self) -> dict[str, np.ndarray]:
        """Semantic vectors ``[num_users, D]`` and ``[num_items, D]``, float32, aligned to internal ids."""
        settings = self.vector_settings()
        stage = self._stage("vectors", settings)
        if not self._skip(stage):
            from .encode import build_encoder

            texts = self.profile()
            stage.begin()
            encoder = build_encoder(self.config.encode.encoder, batch_size=self.config.encode.batch_size,
                                    cache=str(_cache_root() / "embeddings.sqlite"), show_progress=self.progress)
            for kind in ("users", "items"):
                np.save(stage.file(f"{kind}.npy"), encoder.encode(texts[kind]).astype(np.float32))
            stage.finish(["users.npy", "items.npy"], settings, {"encoder": self.config.encode.encoder, "dim": encoder.dim})
        return {kind: self._loaded(stage, f"{kind}.npy", np.load(stage.file(f"{kind}.npy"))) for kind in ("users", "items")}

    # --------------------------------------------------------------- codes
    def codebook_sizes(self) -> tuple[int, int]:
        _, split = self.data
        q = self.config.quantize
        return _auto_codebook(q.user_codebook_size, split.num_users), _auto_codebook(q.item_codebook_size, split.num_items)

    def quantize_settings(self) -> dict[str, Any]:
        from .quantize import ALGORITHM_VERSION

        # the resolved sizes and arguments, not the raw settings: "0" and the size it picks, or
        # "rq-vae" and "rqvae", are one stage; ALGORITHM_VERSION rebuilds codes a fix changed
        sides = [quantizer_args(self.config.quantize, size) for size in self.codebook_sizes()]
        return {"vectors": stable_hash(self.vector_settings()), "quantizers": sides, "algorithm": ALGORITHM_VERSION}

    def quantize(self) -> dict[str, Any]:
        """Codes ``[N, levels]`` per side, from separate user and item quantizers (read or built
        once per pipeline: training and the report share them)."""
        if self._codes is not None:
            return self._codes
        settings = self.quantize_settings()
        stage = self._stage("codes", settings)
        if not self._skip(stage):
            from .quantize import active_code_ratio, build_quantizer

            vectors = self.encode()
            stage.begin()
            q = self.config.quantize
            stats = {}
            for kind, size in zip(("users", "items"), self.codebook_sizes()):
                name, kwargs = quantizer_args(q, size)
                quantizer = build_quantizer(name, **kwargs)
                try:
                    codes = quantizer.fit_transform(vectors[kind])
                except ValueError as exc:  # e.g. a codebook larger than the rows: say which side and key
                    raise ConfigError(f"quantize ({q.method}) of {len(vectors[kind])} {kind[:-1]} vectors with "
                                      f"quantize.{kind[:-1]}_codebook_size={size}: {exc}") from exc
                np.save(stage.file(f"{kind}.npy"), np.asarray(codes, dtype=np.int64))
                quantizer.save(stage.file(f"{kind}_quantizer"))
                stats[kind] = {"codebook_size": size, "active_ratio": active_code_ratio(codes, size)}
                logger.info("%s codes: active ratio per level %s", kind, stats[kind]["active_ratio"])
            stage.finish(["users.npy", "items.npy"], settings, stats)
        self._codes = {
            "users": self._loaded(stage, "users.npy", np.load(stage.file("users.npy"))),
            "items": self._loaded(stage, "items.npy", np.load(stage.file("items.npy"))),
            "sizes": self.codebook_sizes(),
            "stats": (stage.manifest() or {}).get("stats", {}),
        }
        return self._codes

    # --------------------------------------------------------------- graph
    def build_graph(self):
        """The augmented graph of the training split (no validation/test edge)."""
        from .graph import AugmentedGraphBuilder

        codes = self.quantize()
        _, split = self.data
        ag = self.config.autograph
        # factor_weight acts in "plain" mode only: the metapath aggregators' per-path normalisation
        # cancels a uniform weight and the GAT ignores weights (AutoGraph warns about both), so
        # their graph keeps unit factor edges; 0, which empties the semantic paths, is kept
        weight = ag.factor_weight if ag.aggregation == "plain" or ag.factor_weight == 0 else 1.0
        builder = AugmentedGraphBuilder(num_levels=ag.levels, factor_weight=weight)
        return builder.build(split.train.user, split.train.item, split.num_users, split.num_items,
                             codes["users"], codes["items"], *codes["sizes"])

    # --------------------------------------------------------------- train
    def train(self, eval_hook: EvalHook | None = None) -> TrainResult:
        """Train the backbone (wrapped by AutoGraph when ``autograph.enabled``) and evaluate it.

        ``eval_hook(epoch, valid_metrics)`` runs after each validation (e.g. Optuna pruning)."""
        _, split = self.data
        backbone = build_model(self.config, split)
        meta = {"model": self.config.model.name, "kwargs": model_kwargs(self.config)}
        model: torch.nn.Module = backbone
        if self.config.autograph.enabled:
            from .nn.autograph import AutoGraph

            graph = self.build_graph()
            graph.save(self.run_dir / "graph.pt")  # the checkpoint needs it to rebuild the wrapper
            model = AutoGraph(backbone, graph, **autograph_kwargs(self.config))
            meta["autograph"] = asdict(self.config.autograph) | {"graph_file": "graph.pt"}
        return _train_and_save(self.config, split, model, meta, self.progress, eval_hook)

    # ----------------------------------------------------------------- run
    def run(self) -> TrainResult:
        """All stages, then the report; returns the training result."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.config.autograph.enabled and self.config.llm.backend == "none":
            logger.warning("llm.backend=none: template-only variant — the prompts' data (attributes, training "
                           "histories) is encoded directly, no LLM generation")
        result = self.train()
        codes = None
        if self.config.autograph.enabled:
            codes = self.quantize()  # this run's codes, as training read them
        try:
            from .report import write_report

            write_report(self.run_dir, result, self.stage_log, metric=self.config.train.metric,
                         codes=None if codes is None else {side: codes[side] for side in ("users", "items")},
                         sizes=None if codes is None else dict(zip(("users", "items"), codes["sizes"])))
        except ImportError as exc:  # matplotlib missing: metrics are still on disk
            logger.warning("report skipped (%s); pip install 'autograph-rec[report]'", exc)
        return result


def llm_key(llm: LLMConfig) -> dict[str, Any]:
    """The LLM settings that can change a profile's text.

    Left out: where responses are cached, how many prompts go per call or request, and the
    name of the API-key variable; ``model`` and ``base_url`` only where the backend reads them;
    everything but the backend for the template-only ``none``, which generates nothing."""
    if llm.backend == "none":
        return {"backend": "none"}
    key = asdict(llm)
    for unused in ("cache", "batch_size", "api_key_env"):
        del key[unused]
    if llm.backend != "openai":
        del key["base_url"]
    if llm.backend == "fake":
        del key["model"]
    return key


def _cache_root() -> Path:
    from .data.sources import cache_dir

    return cache_dir().parent


def _read_texts(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]
