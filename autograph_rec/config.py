"""Typed run configuration: dataclasses, YAML in/out, ``key=value`` overrides.

Precedence: CLI ``--set`` overrides > the YAML file > the defaults below. Unknown keys, values
of the wrong type and out-of-range numbers (``train.epochs=0``, a negative ``train.lr``) are
errors that name the offending key.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class DataConfig:
    """Which data and how to split it.

    Args:
        name: dataset (``ml-100k``, ``ml-1m``, ``ml-1m-subset``, ``rlmrec-amazon``, ``rlmrec-yelp``, ``csv``).
        data_dir: folder holding the dataset folders (else ``$AUTOGRAPH_REC_DATA``, then the cache).
        path: interactions file for ``csv``.
        item_features_path: CSV of item side text for ``csv`` (its id column named like the item column).
        columns: column mapping for ``csv`` (roles ``user``, ``item``, ``rating``, ``timestamp``).
        sep: separator for ``csv``.
        domain: prompt domain for ``csv`` (``movies``, ``books``, ``generic``).
        min_rating: keep ratings >= this as positives (``None``: keep all).
        kcore: k-core filter applied before splitting (0 or 1: none).
        split: ``random`` (per user), ``random_global``, ``temporal``, ``leave_one_out`` or
            ``predefined`` (the split shipped with RLMRec data); ``auto`` picks ``predefined`` when
            the data ships one, else ``random``.
        ratios: train/valid/test ratios.
        seed: split seed.
        valid_seed: re-draws which non-test interactions are validation, the test set staying
            ``seed``'s (random splits only; ``None`` or equal to ``seed``: ``seed``'s own split).
            ``autograph-rec tune --valid-seeds`` scores a config on several such validation sets.
        duplicates: repeated (user, item) policy: ``last``, ``first`` or ``error``.
        download: fetch missing files from official sources when online.
    """

    name: str = "ml-100k"
    data_dir: str | None = None
    path: str | None = None
    item_features_path: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    sep: str = ","
    domain: str = "generic"
    min_rating: float | None = None
    kcore: int = 0
    split: str = "auto"
    ratios: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    seed: int = 0
    valid_seed: int | None = None
    duplicates: str = "last"
    download: bool = True

    def __post_init__(self) -> None:
        _check_at_least("data", self, seed=0, valid_seed=0, kcore=0)  # a negative kcore was taken as "no filter"


@dataclass
class ModelConfig:
    """Which backbone. ``params`` go to the backbone constructor (e.g. ``layer_combination``, ``tau``)."""

    name: str = "lightgcn"
    embedding_dim: int = 64
    num_layers: int = 3
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    """Optimisation and model selection.

    Args:
        epochs: maximum epochs.
        batch_size: BPR triples per step.
        lr: Adam learning rate.
        reg_weight: L2 weight (on the batch's ego embeddings, or the tables with ``reg_scope=all``).
        eval_every: validate every this many epochs.
        patience: stop after this many validations without improvement.
        warmup_epochs: never stop before this epoch (validation can plateau early).
        metric: validation metric that selects the best epoch (e.g. ``recall@20``).
        seed: seed for initialisation, sampling and dropout.
        device: ``cpu``, ``cuda``, ``cuda:1`` or ``auto``.
        num_threads: torch CPU threads (``None``: torch's default).
        keep_freed_memory: on Linux/glibc, keep freed tensor memory in the process for reuse
            instead of returning it to the OS after every step (see
            :func:`autograph_rec.train.allocator.keep_freed_memory`); faster multi-threaded CPU
            epochs, at the price of a resident size that stays at its peak.
        save_checkpoint: write ``model.pt`` (state_dict) + ``model.json`` to the run directory.
        evaluate_test: evaluate the restored best model on the test set (``False`` in tuning
            trials, whose selection must never see test data; ``metrics.json`` then has
            ``"test": {}``).
    """

    epochs: int = 300
    batch_size: int = 4096
    lr: float = 5e-3
    reg_weight: float = 1e-4
    eval_every: int = 5
    patience: int = 5
    warmup_epochs: int = 20
    metric: str = "recall@20"
    seed: int = 0
    device: str = "auto"
    num_threads: int | None = None
    keep_freed_memory: bool = True
    save_checkpoint: bool = True
    evaluate_test: bool = True

    def __post_init__(self) -> None:
        _check_at_least("train", self, epochs=1, batch_size=1, eval_every=1, patience=0, warmup_epochs=0, seed=0)
        _check_number("train.lr", self.lr, positive=True)
        _check_number("train.reg_weight", self.reg_weight)
        if self.num_threads is not None:
            _check_at_least("train", self, num_threads=0)


@dataclass
class EvalConfig:
    """Evaluation: full ranking over all items (training items masked) or sampled negatives."""

    ks: list[int] = field(default_factory=lambda: [5, 10, 20])
    metrics: list[str] = field(default_factory=lambda: ["recall", "ndcg", "precision", "hit", "mrr"])
    batch_size: int = 1024
    mode: str = "full"
    num_negatives: int = 100

    def __post_init__(self) -> None:
        _check_at_least("eval", self, batch_size=1, num_negatives=1)


@dataclass
class LLMConfig:
    """Which LLM profiles users and items (AutoGraph step 1).

    Args:
        backend: ``none`` (template-only: the prompt's data part is encoded directly, no
            generation), ``smollm2`` (bundled offline model), ``openai`` (any OpenAI-compatible
            server: vLLM, llama.cpp, Ollama), ``transformers`` (a local model folder/GGUF),
            ``llamacpp`` (a GGUF file in-process with llama-cpp-python; the bundled SmolLM2 by
            default) or ``fake`` (deterministic stand-in for tests; never for quality claims).
        model: model name (``openai``) or path (``transformers``, ``llamacpp``).
        base_url: server URL for ``openai``, e.g. ``http://127.0.0.1:8000/v1``.
        api_key_env: name of the environment variable holding the API key.
        max_new_tokens: generation budget per profile (a retry of a truncated profile gets 1.5x).
        retry_truncated: retry truncated profiles with a larger budget. ``false`` keeps them as
            they are (they are usable): on ML-100K's SmolLM2 user profiles those retries were 13 %
            of the calls and ≈ 22 % of the generated tokens, mostly beyond the 256 word pieces
            all-MiniLM-L6-v2 encodes (docs/benchmarks.md §5a).
        repetition_penalty: penalty on already generated tokens; small models such as SmolLM2
            loop without one.
        temperature: 0 = greedy.
        batch_size: prompts per generate call (local) / concurrent requests (HTTP).
        limit: profile only the first N users and N items (quick looks; ``None``: all).
        cache: SQLite response cache (default: ``$AUTOGRAPH_REC_CACHE/llm_responses.sqlite``,
            shared by every run so no call is paid twice).
    """

    backend: str = "none"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_new_tokens: int = 192
    retry_truncated: bool = True
    repetition_penalty: float = 1.1
    temperature: float = 0.0
    batch_size: int = 16
    limit: int | None = None
    cache: str | None = None

    def __post_init__(self) -> None:
        _check_at_least("llm", self, batch_size=1)
        if self.limit is not None:
            _check_at_least("llm", self, limit=0)


@dataclass
class EncodeConfig:
    """Text encoder for profiles: ``minilm`` (sentence-transformers, bundled) or ``llm`` (masked
    mean of the bundled SmolLM2's last hidden layer over each profile text; the paper averages
    over prompt + response, which :meth:`~autograph_rec.encode.LLMHiddenStateEncoder.encode_chat`
    does for callers holding the conversations)."""

    encoder: str = "minilm"
    batch_size: int = 64

    def __post_init__(self) -> None:
        # 0 passed, then failed after the profiles stage ("range() arg 3 must not be zero")
        _check_at_least("encode", self, batch_size=1)


@dataclass
class QuantizeConfig:
    """Latent factors (AutoGraph step 2): ``rqvae``, ``rkmeans``, ``lsh`` or ``hc``.

    Codebook sizes of 0 pick ``min(256, max(8, N // 16))`` for N users/items (the paper uses
    300 user / 256 item codes on ML-1M's ~6k users / ~3.5k items).
    """

    method: str = "rqvae"
    num_levels: int = 3
    user_codebook_size: int = 0
    item_codebook_size: int = 0
    epochs: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        # 0 means "pick from N"; a negative size used to be taken as 0 without a word
        for key in ("user_codebook_size", "item_codebook_size"):
            size = getattr(self, key)
            if _is_number(size) and (size < 0 or size == 1):
                raise ConfigError(f"quantize.{key} must be 0 (picked from the data) or >= 2, got {size!r}")


@dataclass
class AutoGraphConfig:
    """The augmented graph and how the backbone uses it (AutoGraph steps 3-4).

    Args:
        enabled: train on the augmented graph (``False``: the vanilla backbone).
        levels: code levels that become factor edges (paper: 1-2; 3 hurts).
        aggregation: ``plain`` (propagate over the whole augmented graph), ``metapath_mean``,
            ``metapath_attention`` or ``gat``.
        paths: metapaths used: ``uqu`` (u→q→u), ``iqi`` (i→q→i), ``ui`` (u→i and i→u).
        factor_weight: weight of factor edges relative to interaction edges (for MF, which has no
            propagation, the scale of the factor mean added to each user and item). Used by
            ``aggregation=plain`` only (the metapath aggregators normalise it away, the GAT
            ignores edge weights); ``0`` removes the factors' influence in every mode.
        factor_l2: with batch-scope L2, also regularise the factor embeddings of the batch's
            users and items (otherwise factor rows get no L2 at all).
        view_factor_weight: ``plain`` aggregation with a contrastive backbone: the factor edges'
            weight in the graph its views come from — SGL's edge-dropout views, SimGCL's noisy
            propagation (``null``: ``factor_weight``, as in the main graph). 1.0 was better on
            validation than ``null`` on MovieLens-100K (SGL and SimGCL, 3 seeds each,
            docs/benchmarks.md §4g). MF, LightGCN and NGCF have no views; other aggregations have
            no factor edges in the backbone's graph, and ignore it.
    """

    enabled: bool = False
    levels: int = 2
    # "plain" is the default because it had the best validation Recall@20 of the aggregations
    # tried on ML-100K/LightGCN (docs/benchmarks.md §4); the metapath fusions peaked early there.
    aggregation: str = "plain"
    paths: list[str] = field(default_factory=lambda: ["uqu", "iqi", "ui"])
    # 0.25, not 1: over 3 seeds on ML-100K its VALIDATION Recall@20 beat 1.0 on MF, NGCF and SGL
    # (MF 0.327 vs 0.308) and was within 0.0013 on LightGCN and SimGCL, and every tuned study
    # chose a weight below 1 (0.05-0.57) (docs/benchmarks.md §4a, §4d).
    factor_weight: float = 0.25
    factor_l2: bool = True
    view_factor_weight: float | None = 1.0

    def __post_init__(self) -> None:
        _check_at_least("autograph", self, levels=0)
        # a negative weight makes degrees negative: the loss turned NaN with a hint to lower train.lr
        _check_number("autograph.factor_weight", self.factor_weight)
        if self.view_factor_weight is not None:
            _check_number("autograph.view_factor_weight", self.view_factor_weight)


@dataclass
class RunConfig:
    """Everything one run needs; serialised to ``config.yaml`` in the run directory."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    encode: EncodeConfig = field(default_factory=EncodeConfig)
    quantize: QuantizeConfig = field(default_factory=QuantizeConfig)
    autograph: AutoGraphConfig = field(default_factory=AutoGraphConfig)
    output: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self, path: str | Path | None = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        return _build(cls, data, "")

    @classmethod
    def from_yaml(cls, path: str | Path) -> "RunConfig":
        path = Path(path)
        data = read_yaml(path, "config file", ConfigError) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    def with_overrides(self, overrides: list[str]) -> "RunConfig":
        """Apply ``section.key=value`` strings (values parsed as YAML: ``0.01``, ``true``, ``[5, 10]``)."""
        pairs = []
        for item in overrides:
            if "=" not in item:
                raise ConfigError(f"override {item!r} must look like section.key=value")
            key, raw = item.split("=", 1)
            pairs.append((key.strip(), yaml.safe_load(raw) if raw.strip() else None, f"override {item!r}"))
        return self._with(pairs)

    def with_values(self, values: typing.Mapping[str, Any]) -> "RunConfig":
        """Set ``section.key`` settings to the Python values given, as they are: no YAML parsing,
        so a path such as ``runs/a #2`` or ``010`` stays that string (the CLI's own flags)."""
        return self._with([(key, value, f"setting {key!r}") for key, value in values.items()])

    def _with(self, pairs: list[tuple[str, Any, str]]) -> "RunConfig":
        data = self.to_dict()
        for key, value, where in pairs:
            node = data
            parts = key.split(".")
            for part in parts[:-1]:
                if not isinstance(node.get(part), dict):
                    raise ConfigError(f"unknown config section {part!r} in {where}")
                node = node[part]
            if parts[-1] not in node and not _is_free_dict_path(parts):
                raise ConfigError(f"unknown config key {key!r}; known keys here: {sorted(node)}")
            node[parts[-1]] = value
        return RunConfig.from_dict(data)

    def with_host_settings(self, host: "RunConfig", keep: typing.Iterable[str] = ()) -> "RunConfig":
        """This config with the :data:`HOST_KEYS` of ``host``: what a run computes from here,
        where and with what resources it runs from ``host``.

        A config recorded on one machine (a tuned trial's, rerun by another worker) names that
        machine's device, thread count, data folder and caches; rerunning it elsewhere should use
        the local ones. Keys in ``keep`` (e.g. the ones a search space tuned) stay as recorded.
        """
        data, local = self.to_dict(), host.to_dict()
        for key in HOST_KEYS:
            if key in keep:
                continue
            section, name = key.split(".")
            data[section][name] = local[section][name]
        return RunConfig.from_dict(data)


#: ``section.key`` settings that say where and with what resources a run executes (device,
#: threads, data folder, caches, server, batch sizes of inference) rather than what it computes.
#: :meth:`RunConfig.with_host_settings` takes them from the rerunning machine, and a tuned
#: config's identity (:func:`autograph_rec.hpo.objective.config_digest`) leaves them out.
HOST_KEYS: tuple[str, ...] = (
    "data.data_dir", "data.download",
    "train.device", "train.num_threads", "train.keep_freed_memory",
    "eval.batch_size",
    "llm.cache", "llm.base_url", "llm.api_key_env", "llm.batch_size",
    "encode.batch_size",
)


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message names the key."""


def read_yaml(path: Path, what: str, error: type[Exception]) -> Any:
    """The parsed YAML file at ``path``; a missing file, a directory or invalid YAML raise ``error``
    naming ``what`` (e.g. ``"config file"``) and the path, not a traceback from the reader."""
    if not path.is_file():
        raise error(f"{what} {path} {'is a directory' if path.is_dir() else 'not found'}")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({exc})") from None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_at_least(section: str, cfg, **minimums: int) -> None:
    """Raise :class:`ConfigError` naming ``section.key`` for a number below its minimum.

    Values of the wrong type are left to :func:`_coerce`, which names them when the config is
    read; the dataclasses check ranges only.
    """
    for key, low in minimums.items():
        value = getattr(cfg, key)
        if _is_number(value) and value < low:
            raise ConfigError(f"{section}.{key} must be >= {low}, got {value!r}")


def _check_number(key: str, value, positive: bool = False) -> None:
    """Raise :class:`ConfigError` unless ``value`` is finite and ``> 0`` (``positive``) or ``>= 0``."""
    if _is_number(value) and not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
        raise ConfigError(f"{key} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}")


def _is_free_dict_path(parts: list[str]) -> bool:
    # model.params.* and data.columns.* are open mappings
    return len(parts) == 3 and (parts[0], parts[1]) in (("model", "params"), ("data", "columns"))


def _build(cls, data: dict[str, Any], prefix: str):
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"unknown config key(s) {sorted(prefix + k for k in unknown)}; known: {sorted(names)}")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, prefix + name)
    return cls(**kwargs)


def _coerce(tp, value, key: str):
    """Check ``value`` against the annotation ``tp`` (int→float widening allowed)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {value!r}")
        return _build(tp, value, key + ".")
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if origin is list:
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        return [_coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)] if args else value
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        # PyYAML (YAML 1.1) reads "1e-4" (no dot) as a string; accept it as the number it means
        try:
            return float(value)
        except ValueError:
            pass
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # e.g. a model name that YAML read as a number
    if tp in (str, float) and not isinstance(value, tp):
        raise ConfigError(f"{key} must be a {tp.__name__}, got {value!r}")
    return value
