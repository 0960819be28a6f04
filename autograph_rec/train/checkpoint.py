"""Checkpoints: a ``state_dict`` (``weights_only``-loadable) plus a JSON sidecar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..graph import AugmentedGraph
from ..nn import AutoGraph, build_backbone


def _base(path: str | Path) -> Path:
    """``path`` without a ``.pt`` / ``.json`` suffix, and nothing else removed: ``run/mf_lr0.01``
    names ``run/mf_lr0.01.pt``, not ``run/mf_lr0.pt``."""
    path = Path(path)
    return path.with_suffix("") if path.suffix in (".pt", ".json") else path


def _file(base: Path, suffix: str) -> Path:
    return base.with_name(base.name + suffix)


def save_checkpoint(model: torch.nn.Module, path: str | Path, meta: dict[str, Any]) -> Path:
    """Write ``<path>.pt`` (tensors only) and ``<path>.json`` (``meta`` + library version).

    ``meta`` should hold what :func:`load_checkpoint` needs to rebuild the model:
    ``{"model": name, "num_users": …, "num_items": …, "kwargs": {...}}``, plus for an
    :class:`~autograph_rec.nn.AutoGraph` model ``"autograph": {"graph_file": …}``; the
    wrapper's own settings (:meth:`AutoGraph.settings`) are added to that entry here.
    """
    path = _base(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, _file(path, ".pt"))
    if isinstance(model, AutoGraph) and "autograph" in meta:
        # the caller's meta (the pipeline's AutoGraphConfig) lacks fusion, num_metapath_layers,
        # gat_* ...: without them a non-default wrapper failed to load or loaded wrongly
        meta = {**meta, "autograph": {**meta["autograph"], "wrapper": model.settings()}}
    sidecar = {**meta, "autograph_rec_version": __version__, "torch_version": torch.__version__}
    _file(path, ".json").write_text(json.dumps(sidecar, indent=2, default=str))
    return _file(path, ".pt")


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a backbone from :func:`save_checkpoint` output; returns ``(model, meta)``.

    Loading uses ``torch.load(weights_only=True)``: a checkpoint cannot run code.

    Raises:
        ValueError: the sidecar does not say how to build the model (a :class:`Trainer` given
            no ``model_meta``); its ``.pt`` file still loads into a model built by hand.
    """
    path = _base(path)
    meta = json.loads(_file(path, ".json").read_text())
    if meta.get("kwargs") is None:
        raise ValueError(f"checkpoint {_file(path, '.json')} does not record the model's constructor arguments "
                         f"(trained without model_meta): build the {meta.get('model', 'model')!r} model yourself and "
                         f"load {_file(path, '.pt')} with load_state_dict(torch.load(..., weights_only=True))")
    model = build_backbone(meta["model"], meta["num_users"], meta["num_items"], **meta.get("kwargs", {}))
    if "autograph" in meta:
        # an AutoGraph run: rebuild the wrapper around the backbone on the saved training graph
        graph_file = path.parent / meta["autograph"]["graph_file"]
        if not graph_file.is_file():
            raise FileNotFoundError(f"AutoGraph checkpoint {path} needs its graph file {graph_file}")
        options = meta["autograph"].get("wrapper")
        if options is None:  # written before the wrapper's settings were stored: its defaults
            options = {k: v for k, v in meta["autograph"].items() if k in ("aggregation", "paths", "factor_l2")}
            options["seed"] = meta["kwargs"].get("seed")
        options = {**options, "paths": tuple(options.get("paths", ("uqu", "iqi", "ui")))}
        model = AutoGraph(model, AugmentedGraph.load(graph_file), **options)
    state = torch.load(_file(path, ".pt"), map_location=device, weights_only=True)
    model.load_state_dict(state)
    return model.to(device), meta
