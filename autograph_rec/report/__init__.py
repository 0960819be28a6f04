"""Report stage: tables and plots of a finished run (needs the ``report`` extra: matplotlib)."""

from .summary import metrics_table, plot_code_usage, plot_training_curves, write_report

__all__ = ["metrics_table", "plot_code_usage", "plot_training_curves", "write_report"]
