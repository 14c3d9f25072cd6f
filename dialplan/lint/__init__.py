"""The linter: rules by family, configuration, and output formats."""

from .config import LintConfig, discover_config, load_config
from .linter import check_document, failed, lint_paths, lint_source
from .registry import Problem, all_rules, rule

__all__ = [
    "LintConfig",
    "Problem",
    "all_rules",
    "check_document",
    "discover_config",
    "failed",
    "lint_paths",
    "lint_source",
    "load_config",
    "rule",
]
