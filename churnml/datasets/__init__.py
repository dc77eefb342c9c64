"""Datasets shipped with churnml: the bundled CDNOW purchase log.

Importing this package loads nothing; call a loader to read its data.
"""

from __future__ import annotations

from churnml.datasets.cdnow import load_cdnow

__all__ = ["load_cdnow"]
