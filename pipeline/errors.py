"""The errors and warnings the pipeline raises to its callers (CLI and library), in one place.

A :class:`UsageError` is the caller's mistake (a path that does not exist, a
setting out of range, a directory that is not a run directory): the CLI exits
with status 2, before any model loads.  The warnings reach library users through
the ``warnings`` module (and as ``logging`` records of the ``pipeline`` logger).
"""

from __future__ import annotations


class UsageError(ValueError):
    """The caller asked for something that cannot work; nothing was written."""


class PipelineWarning(UserWarning):
    """Base class of the pipeline's warnings (filter them all with this one)."""


class OfflineFallbackWarning(PipelineWarning):
    """``auto`` found no neural weights and a stage fell back to its offline backend."""


class RejectedInputsWarning(PipelineWarning):
    """Some inputs were rejected; ``RUN/rejected.jsonl`` says which and why."""
