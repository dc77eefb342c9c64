"""churnml: who is about to leave, why, and who to call first.

Nothing happens at import: no logging set-up, no data loaded, no MLflow calls.
"""

from __future__ import annotations

from churnml.errors import ChurnMLError

__all__ = ["ChurnMLError", "__version__"]
__version__ = "0.1.0"
