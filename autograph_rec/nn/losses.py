r"""Losses shared by the collaborative-filtering backbones."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

__all__ = ["bpr_loss", "info_nce"]


def bpr_loss(pos_score: Tensor, neg_score: Tensor) -> Tensor:
    r"""Mean Bayesian Personalized Ranking loss
    :math:`-\frac{1}{B}\sum_b \ln \sigma(\hat{y}_{b,pos} - \hat{y}_{b,neg})`
    (`Rendle et al., UAI 2009 <https://arxiv.org/abs/1205.2618>`_).

    Args:
        pos_score (torch.Tensor): scores of the positive pairs ``[B]``.
        neg_score (torch.Tensor): scores of the matching negative pairs ``[B]``.

    Returns:
        torch.Tensor: scalar.
    """
    # logsigmoid is the numerically stable form of log(sigmoid(.)).
    return -F.logsigmoid(pos_score - neg_score).mean()


def info_nce(view1: Tensor, view2: Tensor, tau: float = 0.2) -> Tensor:
    r"""InfoNCE between two views of the same rows: row ``b`` of
    :obj:`view1` must pick row ``b`` of :obj:`view2` among all rows, on cosine
    similarity divided by the temperature :obj:`tau` (the contrastive loss of
    SGL and SimGCL, averaged over rows).

    Args:
        view1 (torch.Tensor): ``[B, dim]``.
        view2 (torch.Tensor): ``[B, dim]``.
        tau (float, optional): temperature. (default: :obj:`0.2`)

    Returns:
        torch.Tensor: scalar.
    """
    z1 = F.normalize(view1, dim=-1)
    z2 = F.normalize(view2, dim=-1)
    logits = z1 @ z2.t() / tau  # [B, B]: in-batch negatives only, never all nodes
    return -F.log_softmax(logits, dim=-1).diagonal().mean()
