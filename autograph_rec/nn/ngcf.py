r"""Neural Graph Collaborative Filtering."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Linear, ModuleList

from autograph_rec.nn.base import RecommenderBackbone, _check_probability, xavier_uniform_
from autograph_rec.nn.propagation import propagate, random_uniform

__all__ = ["NGCF"]


class NGCFConv(torch.nn.Module):
    r"""One NGCF embedding-propagation layer
    :math:`\mathrm{LeakyReLU}\big(\mathbf{W}_1 (\mathbf{\hat{A}} + \mathbf{I})\mathbf{E}
    + \mathbf{W}_2 (\mathbf{\hat{A}}\mathbf{E} \odot \mathbf{E})\big)`
    (Eq. 7 of Wang et al., SIGIR 2019).

    Args:
        in_channels (int): input size.
        out_channels (int): output size.
        negative_slope (float, optional): LeakyReLU slope. (default: :obj:`0.2`)
    """

    def __init__(self, in_channels: int, out_channels: int, negative_slope: float = 0.2):
        super().__init__()
        self.lin_sum = Linear(in_channels, out_channels)  # W1 on (A + I) E
        self.lin_bi = Linear(in_channels, out_channels)  # W2 on A E ⊙ E
        self.negative_slope = negative_slope

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        r"""Xavier-uniform weights and zero biases (the reference implementation's init)."""
        for lin in (self.lin_sum, self.lin_bi):
            xavier_uniform_(lin.weight, generator)
            torch.nn.init.zeros_(lin.bias)

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        r"""Args:
            x (torch.Tensor): ``[num_nodes, in_channels]``.
            adj (torch.Tensor): symmetric normalised CSR adjacency ``[N, N]``.

        Returns:
            torch.Tensor: ``[num_nodes, out_channels]``.
        """
        side = propagate(adj, x)
        # The two LeakyReLUs are applied separately, as in the authors' code.
        out_sum = F.leaky_relu(self.lin_sum(side + x), self.negative_slope)
        out_bi = F.leaky_relu(self.lin_bi(side * x), self.negative_slope)
        return out_sum + out_bi

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.lin_sum.in_features}, {self.lin_sum.out_features})"


class NGCF(RecommenderBackbone):
    r"""The NGCF model from `"Neural Graph Collaborative Filtering"
    <https://arxiv.org/abs/1905.08108>`_ (Wang et al., SIGIR 2019).

    Each layer applies :class:`NGCFConv`, message dropout and row-wise L2
    normalisation (as the authors' code does); the final embedding is the
    concatenation of the layer-0 embedding and every layer's output, so its
    size is ``embedding_dim * (num_layers + 1)`` with the default hidden sizes.
    Node dropout is not implemented.

    Args:
        num_users (int): number of users.
        num_items (int): number of items.
        embedding_dim (int, optional): layer-0 embedding size. (default: :obj:`64`)
        num_layers (int, optional): propagation layers. (default: :obj:`3`)
        hidden_dims (list[int], optional): output size per layer; all
            :obj:`embedding_dim` when :obj:`None`. (default: :obj:`None`)
        message_dropout (float, optional): dropout on each layer's output in
            training mode. (default: :obj:`0.1`)
        negative_slope (float, optional): LeakyReLU slope. (default: :obj:`0.2`)
        reg_scope (str, optional): ``"batch"`` or ``"all"``, see
            :class:`~autograph_rec.nn.base.RecommenderBackbone`. (default: :obj:`"batch"`)
        seed (int, optional): seeds initialisation and dropout. (default: :obj:`None`)
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 64,
        num_layers: int = 3,
        hidden_dims: list[int] | None = None,
        message_dropout: float = 0.1,
        negative_slope: float = 0.2,
        reg_scope: str = "batch",
        seed: int | None = None,
    ):
        super().__init__(num_users, num_items, embedding_dim, reg_scope=reg_scope, seed=seed)
        if hidden_dims is None:
            hidden_dims = [embedding_dim] * num_layers
        if len(hidden_dims) != num_layers:
            raise ValueError(f"hidden_dims has {len(hidden_dims)} entries for num_layers={num_layers}")
        self.num_layers = int(num_layers)
        self.hidden_dims = [int(h) for h in hidden_dims]
        self.message_dropout = _check_probability("message_dropout", message_dropout)
        dims = [embedding_dim, *self.hidden_dims]
        self.convs = ModuleList(NGCFConv(dims[i], dims[i + 1], negative_slope) for i in range(self.num_layers))
        self.out_dim = sum(dims)
        self.reset_parameters()

    def _reset_parameters(self, generator: torch.Generator | None) -> None:
        super()._reset_parameters(generator)
        for conv in self.convs:
            conv.reset_parameters(generator)

    def encode(self, adj: Tensor, stochastic: bool = False) -> Tensor:
        x = self.embedding.weight
        outs = [x]
        p = self.message_dropout if stochastic else 0.0
        generator = self._rng(x.device) if p > 0 else None
        for conv in self.convs:
            x = conv(x, adj)
            if p > 0:
                # Inverted dropout with an explicit generator (F.dropout takes none).
                keep = random_uniform(x.shape, generator, x.device, x.dtype) >= p
                x = x * keep / (1.0 - p)
            outs.append(F.normalize(x, dim=-1))
        return torch.cat(outs, dim=-1)

    def extra_repr_args(self) -> str:
        return f", num_layers={self.num_layers}"
