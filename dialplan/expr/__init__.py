"""Variables and expressions: ``${…}`` templates and the sandboxed JavaScript evaluator."""

from .template import Literal, Ref, Template, TemplateError, parse_template

__all__ = ["Literal", "Ref", "Template", "TemplateError", "parse_template"]
