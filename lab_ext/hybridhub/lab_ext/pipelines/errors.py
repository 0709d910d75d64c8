"""Stable reason codes of the pipeline panel.

The server answers ``{"message": <English>, "reason": <code>}``; the frontend shows the
translated text for ``reason``. Messages never hold a token or an S3 key.
"""

from __future__ import annotations

from ..reason_catalog import PIPELINES
from ..reasons import ReasonError

REASONS = PIPELINES  # the catalog's pipelines table


class PipelineError(ReasonError):
    REASONS = REASONS
