"""Profiling: versioned prompt templates and the Profiler (train-only user histories)."""

from .history import train_histories
from .profiler import Profiler, Profiles, first_verdict
from .quality import ECHO, EMPTY, NON_ANSWER, OK, REFUSED, REPETITIVE, TRUNCATED, USABLE, check_output
from .templates import FACTORS, TEMPLATES, PromptTemplate, get_template, list_templates

__all__ = [
    "Profiler", "Profiles", "first_verdict", "train_histories", "check_output", "ECHO", "OK", "EMPTY", "REFUSED", "REPETITIVE",
    "TRUNCATED", "NON_ANSWER", "USABLE", "FACTORS", "TEMPLATES", "PromptTemplate", "get_template", "list_templates",
]
