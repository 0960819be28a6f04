"""autograph_rec: graph-based, LLM-enhanced recommendation on PyTorch Geometric."""

__version__ = "0.1.0.dev0"
