"""Early stopping on a validation metric, with a warm-up and best-state snapshots."""

from __future__ import annotations

import copy

import torch


class EarlyStopping:
    r"""Tracks the best validation score and tells the trainer when to stop.

    Args:
        patience (int): validations without improvement before stopping; 0 stops at the
            first one, like 1 (it used to stop at the first validation after the warm-up even
            when that validation improved).
        warmup_epochs (int): never stop before this epoch (validation can sit on an early
            plateau, e.g. LightGCN on MovieLens-100K near the popularity baseline).
        min_delta (float): improvement needed to count as better.
    """

    def __init__(self, patience: int = 5, warmup_epochs: int = 0, min_delta: float = 0.0):
        self.patience = patience
        self.warmup_epochs = warmup_epochs
        self.min_delta = min_delta
        self.best_score = float("-inf")
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.bad_checks = 0

    def step(self, epoch: int, score: float, model: torch.nn.Module) -> bool:
        """Record ``score`` at ``epoch``; returns ``True`` if this is a new best."""
        if score > self.best_score + self.min_delta:
            self.best_score, self.best_epoch, self.bad_checks = score, epoch, 0
            # a detached CPU copy, so later optimiser steps cannot change it
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            return True
        self.bad_checks += 1
        return False

    def should_stop(self, epoch: int) -> bool:
        return self.bad_checks >= max(self.patience, 1) and epoch >= self.warmup_epochs

    def restore(self, model: torch.nn.Module) -> None:
        """Load the best snapshot into ``model`` (no-op if none was taken)."""
        if self.best_state is not None:
            model.load_state_dict(copy.deepcopy(self.best_state))
