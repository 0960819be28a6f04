#!/usr/bin/env python
"""Speed/quality reference: RecBole 1.2.1's LightGCN on one of our splits.

Runs in its own virtualenv (``/work/.venv-recbole``, see README.md here): it does
not import ``autograph_rec``. Reads a split ``.npz`` written by
``autograph_rec.data.DataSplit.save_npz``, writes RecBole atomic files with the
predefined split (``benchmark_filename: [train, valid, test]``), trains RecBole's
LightGCN with RecBole's own ``Trainer`` (validation every ``eval_step`` epochs, best
checkpoint chosen on validation Recall@K, test on the test file with training and
validation items masked) and prints ONE JSON line to stdout (RecBole's logs go to
stderr)::

    /work/.venv-recbole/bin/python scripts/compare/recbole_lightgcn.py /tmp/ml100k_seed0.npz --epochs 10

Timing: ``Trainer._train_epoch`` (one training epoch: batching, negative sampling,
forward, backward, step) and ``Trainer._valid_epoch`` (one full-ranking validation
pass) are wrapped with ``time.perf_counter``; RecBole's per-epoch logging, TensorBoard
scalars and checkpoint writes fall outside both. Peak memory is this process's
``ru_maxrss``.

Protocol mapping (kept equal to ``pyg_lightgcn.py`` and our own trainer):

* ``--patience P`` means "stop after P validations without improvement"; RecBole's
  ``stopping_step`` stops after ``stopping_step + 1`` such validations, so it is set
  to ``P - 1``. ``--warmup-epochs`` suppresses stopping before that epoch.
* RecBole replaces the best checkpoint on ``>=`` (ties move it later); the reported
  ``best_epoch`` follows RecBole's rule because RecBole's checkpoint is what is tested.
* ``eval_batch_size`` is set to ``--eval-batch-users * (num_items + 1)`` so RecBole
  scores the same number of users per batch as our evaluator (RecBole divides the
  batch size by the item count; its default 4096 would score one user at a time on
  Amazon-book).
* The catalogue is every item id ``0..num_items-1`` of the split (an ``.item`` file
  lists them all), not only items that occur in an interaction file.
"""

from __future__ import annotations

# ----------------------------------------------------------------------------------
# Runtime shims for RecBole 1.2.1 (released 2023) on numpy 2 / torch 2.13.
# They must run before RecBole is imported.
import numpy as np

# numpy 2 removed the aliases np.float_, np.complex_ and np.unicode_.
# RecBole's Config.compatibility_settings() executes `np.float = np.float_`,
# `np.complex = np.complex_` and `np.unicode = np.unicode_` and would raise
# AttributeError; RecBole's code then uses np.float / np.int / np.bool / np.long
# (evaluator/metrics.py, data/interaction.py, model/layers.py).
for _alias, _target in {
    "float_": np.float64, "complex_": np.complex128, "unicode_": np.str_,
    "float": float, "int": int, "bool": bool, "long": int, "object": object,
    "str": str, "complex": complex, "unicode": str,
}.items():
    if _alias not in vars(np):  # (hasattr would trigger numpy's FutureWarning for np.object/np.str)
        setattr(np, _alias, _target)

import scipy.sparse as sp  # noqa: E402

# scipy >= 1.13 dropped the private dok_matrix._update (an unchecked dict update) that
# RecBole's LightGCN.get_norm_adj_mat() calls to fill its adjacency matrix; the entries
# now live in the dok's `_dict`.
if not hasattr(sp.dok_matrix, "_update"):
    def _dok_update(self, data):
        self._dict.update(data)

    sp.dok_matrix._update = _dok_update

import torch  # noqa: E402

# torch >= 2.6 defaults torch.load(weights_only=True); RecBole's checkpoint (the one
# it has just written itself in this run) pickles its Config object, so restoring
# the best model for the test pass fails without weights_only=False.
_torch_load = torch.load


def _torch_load_full(*args, **kwargs):
    kwargs.setdefault("weights_only", False)
    return _torch_load(*args, **kwargs)


torch.load = _torch_load_full
# ----------------------------------------------------------------------------------

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import recbole  # noqa: E402
import recbole.trainer.trainer as recbole_trainer_mod  # noqa: E402
from recbole.config import Config  # noqa: E402
from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.model.general_recommender import LightGCN  # noqa: E402
from recbole.trainer import Trainer  # noqa: E402
from recbole.utils import init_logger, init_seed  # noqa: E402

TOKEN = "bench"  # RecBole special-cases the dataset name "ml-100k" (its bundled copy)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="RecBole 1.2.1 LightGCN on a DataSplit .npz")
    p.add_argument("npz", help="split file written by DataSplit.save_npz")
    p.add_argument("--dataset", default=None, help="name in the JSON output (default: file stem)")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=4096, help="train_batch_size (positive pairs)")
    p.add_argument("--reg", type=float, default=1e-4, help="reg_weight")
    p.add_argument("--epochs", type=int, default=1000, help="maximum training epochs")
    p.add_argument("--eval-every", type=int, default=5, help="eval_step")
    p.add_argument("--patience", type=int, default=5,
                   help="stop after this many validations without improvement (stopping_step = patience - 1)")
    p.add_argument("--warmup-epochs", type=int, default=0, help="never stop before this epoch")
    p.add_argument("--eval-batch-users", type=int, default=1024, help="users scored per evaluation batch")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--save-embeddings", default=None, metavar="NPZ",
                   help="also write the tested model's final user/item embeddings, in the split's ids "
                        "(to cross-check RecBole's metrics with another evaluator)")
    p.add_argument("--workdir", default=None,
                   help="where atomic files, logs and checkpoints go (default: a temporary directory, removed)")
    return p.parse_args(argv)


def write_atomic_files(npz_path: str, folder: str) -> tuple[int, int, int]:
    """``<folder>/bench.{train,valid,test}.inter`` and ``bench.item``; returns (users, items, train size)."""
    os.makedirs(folder, exist_ok=True)
    with np.load(npz_path) as z:
        num_users, num_items = int(z["num_users"]), int(z["num_items"])
        for part in ("train", "valid", "test"):
            pairs = np.stack([z[f"{part}_user"], z[f"{part}_item"]], axis=1).astype(np.int64)
            if part == "train":
                num_train = len(pairs)
            with open(os.path.join(folder, f"{TOKEN}.{part}.inter"), "w") as f:
                f.write("user_id:token\titem_id:token\n")
                np.savetxt(f, pairs, fmt="%d", delimiter="\t")
    with open(os.path.join(folder, f"{TOKEN}.item"), "w") as f:
        f.write("item_id:token\n")
        np.savetxt(f, np.arange(num_items)[:, None], fmt="%d")
    return num_users, num_items, num_train


def save_embeddings(model, dataset, num_users: int, num_items: int, path: str) -> None:
    """Final LightGCN embeddings of the loaded (tested) model, rows in the split's own ids."""
    model.eval()
    with torch.no_grad():
        user_e, item_e = model.forward()
    uid = np.asarray([dataset.field2token_id["user_id"][str(u)] for u in range(num_users)])
    iid = np.asarray([dataset.field2token_id["item_id"][str(i)] for i in range(num_items)])
    np.savez(path, user_emb=user_e[uid].numpy(), item_emb=item_e[iid].numpy())


def run(args, workdir: str) -> dict:
    t_start = time.perf_counter()
    num_users, num_items, num_train = write_atomic_files(args.npz, os.path.join(workdir, "data", TOKEN))
    os.chdir(workdir)  # RecBole writes ./log and ./log_tensorboard relative to the cwd

    metric = f"recall@{args.k}"
    config_dict = {
        "data_path": os.path.join(workdir, "data"),
        "checkpoint_dir": os.path.join(workdir, "saved"),
        "benchmark_filename": ["train", "valid", "test"],
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "load_col": {"inter": ["user_id", "item_id"], "item": ["item_id"]},
        "embedding_size": args.dim,
        "n_layers": args.layers,
        "reg_weight": args.reg,
        "learner": "adam",
        "learning_rate": args.lr,
        "train_batch_size": args.batch_size,
        "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1, "alpha": 1.0,
                                  "dynamic": False, "candidate_num": 0},
        "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]},  # ignored: benchmark files are the split
                      "group_by": "user", "order": "RO", "mode": "full"},
        "metrics": ["Recall", "NDCG"],
        "topk": [args.k],
        "valid_metric": f"Recall@{args.k}",
        "valid_metric_bigger": True,
        "eval_batch_size": args.eval_batch_users * (num_items + 1),  # +1: RecBole's [PAD] item
        "epochs": args.epochs,
        "eval_step": args.eval_every,
        "stopping_step": max(args.patience - 1, 0),
        "seed": args.seed,
        "reproducibility": True,
        "show_progress": False,
        "use_gpu": False,
        "gpu_id": "",
        "worker": 0,
        "log_wandb": False,
        "save_dataset": False,
        "save_dataloaders": False,
        "metric_decimal_place": 6,
    }
    # RecBole's Config also parses sys.argv ("--key=value"): e.g. our "--dataset=ml-100k"
    # would switch it to its bundled ml-100k. Hide our command line from it.
    sys.argv = sys.argv[:1]
    config = Config(model="LightGCN", dataset=TOKEN, config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    if args.threads:
        torch.set_num_threads(args.threads)

    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = LightGCN(config, train_data._dataset).to(config["device"])
    trainer = Trainer(config, model)
    setup_seconds = time.perf_counter() - t_start

    # --- instrumentation (per-instance wrappers; RecBole's own code runs unchanged)
    epoch_times, eval_times, history = [], [], []
    state = {"epoch": 0, "best_epoch": None, "best_valid": None}
    orig_train_epoch, orig_valid_epoch = trainer._train_epoch, trainer._valid_epoch
    orig_early_stopping = recbole_trainer_mod.early_stopping

    def timed_train_epoch(train_data, epoch_idx, *a, **kw):
        t0 = time.perf_counter()
        out = orig_train_epoch(train_data, epoch_idx, *a, **kw)
        epoch_times.append(time.perf_counter() - t0)
        state["epoch"] = epoch_idx + 1  # 1-based count of epochs trained so far
        history.append({"epoch": epoch_idx + 1, "train_seconds": epoch_times[-1]})
        return out

    def timed_valid_epoch(valid_data, *a, **kw):
        t0 = time.perf_counter()
        score, result = orig_valid_epoch(valid_data, *a, **kw)
        eval_times.append(time.perf_counter() - t0)
        history[-1].update(eval_seconds=eval_times[-1], valid=dict(result))
        return score, result

    def tracked_early_stopping(value, best, cur_step, max_step, bigger=True):
        best, cur_step, stop_flag, update_flag = orig_early_stopping(value, best, cur_step, max_step, bigger)
        if update_flag:  # RecBole saves the checkpoint tested at the end exactly on this flag
            state["best_epoch"] = state["epoch"]
        if stop_flag and state["epoch"] < args.warmup_epochs:
            stop_flag = False
        return best, cur_step, stop_flag, update_flag

    trainer._train_epoch = timed_train_epoch
    trainer._valid_epoch = timed_valid_epoch
    recbole_trainer_mod.early_stopping = tracked_early_stopping
    try:
        best_score, best_valid = trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    finally:
        recbole_trainer_mod.early_stopping = orig_early_stopping

    if state["best_epoch"] is None:  # fewer epochs than eval_step: RecBole saved no checkpoint
        t0 = time.perf_counter()
        best_valid = trainer.evaluate(valid_data, load_best_model=False, show_progress=False)
        eval_times.append(time.perf_counter() - t0)
        state["best_epoch"] = state["epoch"]
        load_best = False
        checkpoint_epoch = None
    else:
        load_best = True
        checkpoint_epoch = int(torch.load(trainer.saved_model_file, map_location="cpu")["epoch"]) + 1
        if checkpoint_epoch != state["best_epoch"]:
            raise RuntimeError(f"RecBole's checkpoint is from epoch {checkpoint_epoch}, "
                               f"the tracked best epoch is {state['best_epoch']}")
    # The test loader is built from bench.test.inter; its history mask is train + valid.
    t0 = time.perf_counter()
    test = trainer.evaluate(test_data, load_best_model=load_best, show_progress=False)
    test_seconds = time.perf_counter() - t0
    for rec in history:
        print(json.dumps(rec), file=sys.stderr)
    if args.save_embeddings:
        save_embeddings(model, dataset, num_users, num_items, args.save_embeddings)

    return {
        "impl": "recbole",
        "dataset": args.dataset or os.path.splitext(os.path.basename(args.npz))[0],
        "seconds_per_epoch": float(np.mean(epoch_times)),
        "seconds_per_epoch_median": float(np.median(epoch_times)),
        "seconds_per_eval": float(np.mean(eval_times)),
        "seconds_test_eval": test_seconds,
        "setup_seconds": setup_seconds,
        "total_seconds": time.perf_counter() - t_start,
        "best_epoch": state["best_epoch"],
        "epochs_run": state["epoch"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,  # KiB on Linux
        "valid": {k.lower(): float(v) for k, v in dict(best_valid).items()},
        "test": {k.lower(): float(v) for k, v in dict(test).items()},
        "config": {
            "dim": args.dim, "layers": args.layers, "lr": args.lr, "batch_size": args.batch_size,
            "reg": args.reg, "epochs": args.epochs, "eval_every": args.eval_every,
            "patience": args.patience, "warmup_epochs": args.warmup_epochs, "seed": args.seed,
            "eval_batch_users": args.eval_batch_users, "stopping_step": config["stopping_step"],
            "require_pow": config["require_pow"],
        },
        "num_users": num_users, "num_items": num_items, "num_train": num_train,
        # RecBole's own counts include its [PAD] user/item.
        "recbole_user_num": int(dataset.user_num), "recbole_item_num": int(dataset.item_num),
        "test_users": int(len(test_data.uid_list)), "valid_users": int(len(valid_data.uid_list)),
        "versions": {"recbole": recbole.__version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "threads": torch.get_num_threads(),
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    args.npz = os.path.abspath(args.npz)
    if args.save_embeddings:
        args.save_embeddings = os.path.abspath(args.save_embeddings)
    cwd = os.getcwd()
    try:
        if args.workdir:
            os.makedirs(args.workdir, exist_ok=True)
            return run(args, os.path.abspath(args.workdir))
        with tempfile.TemporaryDirectory(prefix="recbole_bench_") as tmp:
            try:
                return run(args, tmp)
            finally:
                os.chdir(cwd)  # leave the directory before it is removed
    finally:
        os.chdir(cwd)


if __name__ == "__main__":
    # Only the result line goes to stdout; RecBole's logs and progress go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        result = main()
    print(json.dumps(result), flush=True)
