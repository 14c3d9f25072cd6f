"""``python -m dialplan``."""

from .cli import main

main()
