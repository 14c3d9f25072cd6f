"""Per-file indexes shared by rules (computed once through ``ctx.cached``)."""

from __future__ import annotations

from collections.abc import Mapping

from ..model import Node
from .context import LintContext


def by_tag(ctx: LintContext) -> Mapping[str, list[Node]]:
    """The document's nodes grouped by canonical tag, each list in document order."""

    def compute() -> dict[str, list[Node]]:
        groups: dict[str, list[Node]] = {}
        for node in ctx.plan.nodes:
            group = groups.get(node.tag)
            if group is None:
                groups[node.tag] = [node]
            else:
                group.append(node)
        return groups

    return ctx.cached("index.by_tag", compute)


def tagged(ctx: LintContext, *tags: str) -> list[Node]:
    """Nodes with any of ``tags`` (grouped by tag, not interleaved in document order)."""
    groups = by_tag(ctx)
    if len(tags) == 1:
        return groups.get(tags[0], [])
    return [node for tag in tags for node in groups.get(tag, ())]
