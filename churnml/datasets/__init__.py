"""Datasets shipped with churnml: the bundled CDNOW purchase log and the seeded
synthetic generator.

Importing this package loads nothing; call a loader to read or make data.
"""

from __future__ import annotations

from churnml.datasets.cdnow import load_cdnow
from churnml.datasets.synthetic import generate as generate_synthetic
from churnml.datasets.synthetic import generate_chunks

__all__ = ["generate_chunks", "generate_synthetic", "load_cdnow"]
