"""Profiling: versioned prompt templates and the Profiler (train-only user histories)."""

from .history import train_histories
from .profiler import Profiler, Profiles
from .quality import ECHO, EMPTY, OK, REFUSED, REPETITIVE, TRUNCATED, check_output
from .templates import FACTORS, TEMPLATES, PromptTemplate, get_template, list_templates

__all__ = [
    "Profiler", "Profiles", "train_histories", "check_output", "ECHO", "OK", "EMPTY", "REFUSED", "REPETITIVE",
    "TRUNCATED", "FACTORS", "TEMPLATES", "PromptTemplate", "get_template", "list_templates",
]
