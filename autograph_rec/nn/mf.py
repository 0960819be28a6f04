r"""Matrix factorisation trained with BPR."""

from __future__ import annotations

from torch import Tensor

from autograph_rec.nn.base import RecommenderBackbone

__all__ = ["MF"]


class MF(RecommenderBackbone):
    r"""Matrix factorisation with the BPR objective from `"BPR: Bayesian
    Personalized Ranking from Implicit Feedback"
    <https://arxiv.org/abs/1205.2618>`_ (Rendle et al., UAI 2009): the score
    of user :math:`u` and item :math:`i` is :math:`\mathbf{e}_u^\top \mathbf{e}_i`
    with free embeddings, no graph propagation. The graph arguments of the
    shared API are accepted (and ignored) so MF drops into the same trainer.

    Args:
        num_users (int): number of users.
        num_items (int): number of items.
        embedding_dim (int, optional): embedding size. (default: :obj:`64`)
        reg_scope (str, optional): ``"batch"`` or ``"all"``, see
            :class:`~autograph_rec.nn.base.RecommenderBackbone`. (default: :obj:`"batch"`)
        seed (int, optional): seeds the initialisation. (default: :obj:`None`)
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 64,
        reg_scope: str = "batch",
        seed: int | None = None,
    ):
        super().__init__(num_users, num_items, embedding_dim, reg_scope=reg_scope, seed=seed)
        self.reset_parameters()

    def adjacency(self, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        # MF never propagates: skip building (and validating) a normalised adjacency.
        return edge_index

    def encode(self, adj: Tensor, stochastic: bool = False) -> Tensor:
        return self.embedding.weight
