"""How strongly the contrastive (InfoNCE) term outweighs BPR at initialisation, for SGL and
SimGCL with the mean or the sum of the LightGCN layers, on one MovieLens-100K batch.

    python scripts/ssl_gradient_ratio.py [--batch-size 4096] [--dim 32] [--ssl-lambda 0.1]

Prints, per model and layer combination, BPR and the weighted InfoNCE loss and the norms of
their gradients with respect to the embedding table. (Why SGL/SimGCL default to the sum:
docs/benchmarks.md §1.)
"""

from __future__ import annotations

import argparse

import torch

from autograph_rec.config import DataConfig
from autograph_rec.data import NegativeSampler, bpr_batches
from autograph_rec.graph.bipartite import bipartite_edge_index
from autograph_rec.nn import build_backbone
from autograph_rec.nn.losses import bpr_loss
from autograph_rec.nn.propagation import normalized_adjacency
from autograph_rec.pipeline import prepare_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--ssl-lambda", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)

    _, split = prepare_data(DataConfig(name="ml-100k", data_dir=args.data_dir))
    train = split.train
    edge_index = bipartite_edge_index(train.user, train.item, split.num_users)
    adj = normalized_adjacency(edge_index, split.num_users + split.num_items)
    generator = torch.Generator().manual_seed(args.seed)
    sampler = NegativeSampler(train, split.num_users, split.num_items)
    users, pos, neg = next(iter(bpr_batches(train, sampler, args.batch_size, generator)))

    print("| model | layers | BPR | λ·InfoNCE | ‖∇BPR‖ | ‖∇(λ·InfoNCE)‖ | ratio |\n|---|---|---|---|---|---|---|")
    for name in ("sgl", "simgcl"):
        for combination in ("mean", "sum"):
            model = build_backbone(name, num_users=split.num_users, num_items=split.num_items, embedding_dim=args.dim,
                                   layer_combination=combination, ssl_lambda=args.ssl_lambda, seed=args.seed)
            model.train()
            model.on_epoch_start(edge_index, generator)
            model_adj = model.adjacency(adj)
            out = model.encode(model_adj, stochastic=True)
            u, p, n = out.index_select(0, torch.cat([users, pos + model.num_users, neg + model.num_users])).split(users.numel())
            bpr = bpr_loss((u * p).sum(-1), (u * n).sum(-1))
            grad_bpr = torch.autograd.grad(bpr, model.embedding.weight)[0].norm()
            ssl = model.auxiliary_loss(model_adj, users, pos)["ssl"]
            grad_ssl = torch.autograd.grad(ssl, model.embedding.weight)[0].norm()
            print(f"| {name} | {combination} | {bpr.item():.4f} | {ssl.item():.3f} | {grad_bpr:.2e} | {grad_ssl:.2e} | "
                  f"{grad_ssl / grad_bpr:.0f}× |")


if __name__ == "__main__":
    main()
