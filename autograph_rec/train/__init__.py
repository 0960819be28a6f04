"""Training stage: BPR trainer, early stopping, checkpoints."""

from .checkpoint import load_checkpoint, save_checkpoint
from .early_stopping import EarlyStopping
from .trainer import TrainResult, Trainer
from .utils import resolve_device, seed_everything

__all__ = ["EarlyStopping", "TrainResult", "Trainer", "load_checkpoint", "resolve_device", "save_checkpoint", "seed_everything"]
