#!/usr/bin/env python
"""Speed/quality reference: PyG's ``torch_geometric.nn.models.LightGCN`` in a minimal loop.

Trains PyG's own LightGCN with the plain loop of PyG's example (a symmetric
user-item ``edge_index``, ``model(edge_index, edge_label_index)`` per batch,
``model.recommendation_loss(..., lambda_reg)``), evaluates by full ranking with
``autograph_rec.eval.RankingEvaluator`` (validation: training items masked; test:
training and validation items masked), selects the best epoch on validation and
prints ONE JSON line to stdout (everything else goes to stderr)::

    python scripts/compare/pyg_lightgcn.py /tmp/ml100k_seed0.npz --epochs 10

The split file is written by ``autograph_rec.data.DataSplit.save_npz``. Seconds per
epoch count the training loop only (shuffling, negative sampling, forward, backward,
optimiser step); seconds per evaluation count one full validation pass (propagation
+ scoring + ranking of every validation user). Peak memory is this process's
``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import sys
import time

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.nn.models import LightGCN

try:
    from autograph_rec.eval import RankingEvaluator
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
    from autograph_rec.eval import RankingEvaluator


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("npz", help="split file written by DataSplit.save_npz")
    p.add_argument("--dataset", default=None, help="name in the JSON output (default: file stem)")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=4096, help="positive pairs per batch")
    p.add_argument("--reg", type=float, default=1e-4, help="lambda_reg of recommendation_loss")
    p.add_argument("--epochs", type=int, default=1000, help="maximum training epochs")
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--patience", type=int, default=5,
                   help="stop after this many validations without improvement")
    p.add_argument("--warmup-epochs", type=int, default=0, help="never stop before this epoch")
    p.add_argument("--eval-batch-users", type=int, default=1024, help="users scored per evaluation batch")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    return p.parse_args(argv)


class NegativeSampler:
    """Uniform item negatives that are never a training positive of the user.

    Vectorised rejection sampling: positives are stored as sorted keys
    ``user * num_items + item``; invalid draws are redrawn until none is left.
    """

    def __init__(self, users: torch.Tensor, items: torch.Tensor, num_items: int, generator: torch.Generator):
        self.num_items = num_items
        self.keys = torch.unique(users * num_items + items)  # sorted
        self.gen = generator

    def _is_pos(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        q = users * self.num_items + items
        pos = torch.searchsorted(self.keys, q).clamp_(max=self.keys.numel() - 1)
        return self.keys[pos] == q

    def sample(self, users: torch.Tensor) -> torch.Tensor:
        neg = torch.randint(0, self.num_items, users.shape, generator=self.gen)
        bad = self._is_pos(users, neg).nonzero().squeeze(1)
        for _ in range(1000):
            if bad.numel() == 0:
                return neg
            neg[bad] = torch.randint(0, self.num_items, bad.shape, generator=self.gen)
            bad = bad[self._is_pos(users[bad], neg[bad])]
        raise RuntimeError("could not sample negatives: some user has (almost) every item as a positive")


def csr(users: np.ndarray, items: np.ndarray, shape) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(len(users), dtype=np.float32), (users, items)), shape=shape)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    t_start = time.perf_counter()

    with np.load(args.npz) as z:
        num_users, num_items = int(z["num_users"]), int(z["num_items"])
        split = {k: z[k].astype(np.int64) for k in z.files if k not in ("num_users", "num_items")}
    shape = (num_users, num_items)
    train_csr = csr(split["train_user"], split["train_item"], shape)
    valid_csr = csr(split["valid_user"], split["valid_item"], shape)
    test_csr = csr(split["test_user"], split["test_item"], shape)

    # Bipartite graph as PyG's example builds it: items shifted by num_users, both directions.
    tu = torch.from_numpy(split["train_user"])
    ti = torch.from_numpy(split["train_item"])
    edge_index = torch.stack([torch.cat([tu, ti + num_users]), torch.cat([ti + num_users, tu])])
    num_train = tu.numel()

    model = LightGCN(num_users + num_items, args.dim, args.layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    sampler = NegativeSampler(tu, ti, num_items, gen)
    evaluator = RankingEvaluator(ks=(args.k,), metrics=("recall", "ndcg"), batch_size=args.eval_batch_users)
    metric = f"recall@{args.k}"

    def embeddings():
        model.eval()
        with torch.no_grad():
            out = model.get_embedding(edge_index)
        return out[:num_users], out[num_users:]

    setup_seconds = time.perf_counter() - t_start
    epoch_times, eval_times, history = [], [], []
    best_score, best_epoch, best_valid, best_state, bad_checks = float("-inf"), 0, None, None, 0
    epoch = 0
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        total_loss = 0.0
        for index in torch.randperm(num_train, generator=gen).split(args.batch_size):
            u, pos = tu[index], ti[index]
            neg = sampler.sample(u)
            edge_label_index = torch.stack([torch.cat([u, u]), torch.cat([pos, neg]) + num_users])
            optimizer.zero_grad()
            pos_rank, neg_rank = model(edge_index, edge_label_index).chunk(2)
            loss = model.recommendation_loss(pos_rank, neg_rank, node_id=edge_label_index.unique(),
                                             lambda_reg=args.reg)
            loss.backward()
            optimizer.step()
            total_loss += float(loss) * index.numel()
        epoch_times.append(time.perf_counter() - t0)
        record = {"epoch": epoch, "loss": total_loss / num_train, "train_seconds": epoch_times[-1]}

        if epoch % args.eval_every == 0:
            t0 = time.perf_counter()
            valid = evaluator.evaluate(embeddings(), valid_csr, exclude=[train_csr], device="cpu")
            eval_times.append(time.perf_counter() - t0)
            record.update(valid=valid, eval_seconds=eval_times[-1])
            if valid[metric] > best_score:
                best_score, best_epoch, best_valid, bad_checks = valid[metric], epoch, valid, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad_checks += 1
        history.append(record)
        print(json.dumps(record), file=sys.stderr)
        if bad_checks >= args.patience and epoch >= args.warmup_epochs:
            break

    if best_state is None:  # fewer epochs than eval_every: validate the last state
        t0 = time.perf_counter()
        best_valid = evaluator.evaluate(embeddings(), valid_csr, exclude=[train_csr], device="cpu")
        eval_times.append(time.perf_counter() - t0)
        best_epoch = epoch
    else:
        model.load_state_dict(best_state)
    t0 = time.perf_counter()
    test = evaluator.evaluate(embeddings(), test_csr, exclude=[train_csr, valid_csr], device="cpu")
    test_seconds = time.perf_counter() - t0

    return {
        "impl": "pyg",
        "dataset": args.dataset or os.path.splitext(os.path.basename(args.npz))[0],
        "seconds_per_epoch": float(np.mean(epoch_times)),
        "seconds_per_epoch_median": float(np.median(epoch_times)),
        "seconds_per_eval": float(np.mean(eval_times)),
        "seconds_test_eval": test_seconds,
        "setup_seconds": setup_seconds,
        "total_seconds": time.perf_counter() - t_start,
        "best_epoch": best_epoch,
        "epochs_run": epoch,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,  # KiB on Linux
        "valid": {k: v for k, v in best_valid.items() if k != "num_users"},
        "test": {k: v for k, v in test.items() if k != "num_users"},
        "config": {
            "dim": args.dim, "layers": args.layers, "lr": args.lr, "batch_size": args.batch_size,
            "reg": args.reg, "epochs": args.epochs, "eval_every": args.eval_every,
            "patience": args.patience, "warmup_epochs": args.warmup_epochs, "seed": args.seed,
            "eval_batch_users": args.eval_batch_users,
        },
        "num_users": num_users, "num_items": num_items, "num_train": num_train,
        "versions": {"torch": torch.__version__, "torch_geometric": __import__("torch_geometric").__version__,
                     "python": platform.python_version()},
        "threads": torch.get_num_threads(),
    }


if __name__ == "__main__":
    # Only the result line goes to stdout; library chatter and progress go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        result = main()
    print(json.dumps(result), flush=True)
