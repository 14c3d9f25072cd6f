"""Webhook events: building them, the outbox they wait in, and their delivery.

The public API is :mod:`.delivery`'s, re-exported here (``from dialplan.broadcast import webhooks``).
"""

from .delivery import *  # noqa: F403
from .delivery import ANSWERED_BY, PLAYSTATES, __all__  # noqa: F401
