"""Lint rule families, one module each (see ``dialplan.lint.registry.FAMILIES``)."""
