"""The Callr Actions YAML front-end: scenarios compiled into the same model as XML dialplans.

See docs/callr-yaml.md. :func:`parse_yaml` is reached through :func:`dialplan.parse.parse`,
the one dispatch point by file type.
"""

from .document import YamlDocument, is_yaml, parse_yaml

__all__ = ["YamlDocument", "is_yaml", "parse_yaml"]
