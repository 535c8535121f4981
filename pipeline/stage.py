"""The stage interface: every stage reads named files of a run directory and writes others.

A stage declares what it reads, what it writes and which settings section
affects it; the runner (``pipeline.runner``) uses those declarations to hash
inputs, record the manifest and skip stages whose inputs did not change.  A
stage never reaches into another stage's module: it talks to the others only
through the record files of the run directory.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pipeline.rundir import RunDir
from pipeline.settings import Settings


@dataclass
class StageResult:
    """What a stage reports back: counts, which model/backend ran, and loud notes."""

    counts: dict[str, int] = field(default_factory=dict)  # e.g. {"in": 5, "out": 5, "rejected": 0}
    backend: str | None = None
    model: str | None = None
    revision: str | None = None
    notes: list[str] = field(default_factory=list)  # shown to the user (e.g. backend fallbacks)
    extra: dict[str, Any] = field(default_factory=dict)


class Stage(ABC):
    name: ClassVar[str]
    settings_section: ClassVar[str | None] = None
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: Settings):
        self.settings = settings

    @abstractmethod
    def run(self, run: RunDir) -> StageResult:
        """Read ``self.reads`` from ``run``, write ``self.writes``; never raise on bad records."""

    def config(self) -> dict[str, Any]:
        """The settings that affect this stage's outputs (hashed into the manifest)."""
        return self.settings.section_dict(self.settings_section) if self.settings_section else {}
