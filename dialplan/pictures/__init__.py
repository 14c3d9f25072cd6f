"""Pictures of a dialplan's call flow: DOT and Mermaid text, and SVG through Graphviz."""

from .flow import Picture, picture, summarize, to_dot, to_mermaid
from .svg import SVG_MAX_ELEMENTS, render_svg

__all__ = [
    "SVG_MAX_ELEMENTS",
    "Picture",
    "picture",
    "render_svg",
    "summarize",
    "to_dot",
    "to_mermaid",
]
