"""Test-only seam of the privacy audit: a secret stream whose normals are zero.

Passed as ``run_audit(..., streams=NoiselessStream)``, it leaves everything of
``fit_private`` as it is (the engine, the clipping, the Poisson batches and the canaries'
sampling from the stream) except the noise: ``NoisyClippedSum.add_noise`` draws its normals
from the stream, and gets zeros. It is what a "private" run that forgot its noise would do,
and the audit must see it. It lives under tests/ so that no command or pipeline stage can
import it.
"""

from __future__ import annotations

import numpy as np

from dpforecast.privacy.randomness import SecretStream, Size


class NoiselessStream(SecretStream):
    """A keyed stream (same uniforms as ``SecretStream(seed)``) with every normal zero."""

    def normal(self, size: Size) -> np.ndarray:
        return np.zeros(size)
