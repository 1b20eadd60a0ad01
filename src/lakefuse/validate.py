"""Settings checked whole before a run reads or writes anything.

:meth:`lakefuse.config.Settings.validate` checks each field's type and range; the stage names
and each stage's options are checked here, against the options model registered with the chosen
strategy. This sits above the stages (with the pipeline), since the registries live in the stage
packages, which themselves import :mod:`lakefuse.config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakefuse.block import BLOCKERS
from lakefuse.config import Settings
from lakefuse.judge import JUDGES
from lakefuse.registry import OptionError
from lakefuse.resolve import resolver_plan
from lakefuse.sets import SET_FINDERS


def validate_settings(settings: Settings | Mapping[str, Any]) -> Settings:
    """A validated copy of ``settings`` (a Settings or a field -> value mapping, as in
    run.json); raises :class:`lakefuse.registry.OptionError` (one line: the setting or option,
    the problem, the value given; exit code 2 in the CLI)."""
    data = settings.to_dict() if isinstance(settings, Settings) else dict(settings)
    checked = Settings.validated(data)
    BLOCKERS.validate(checked.blocker, checked.blocker_options)
    JUDGES.validate(checked.judge, checked.judge_options)
    SET_FINDERS.validate(checked.sets, checked.sets_options)
    resolver_plan(checked.resolver, checked.resolver_options)
    if checked.engine == "spark":
        _check_spark()
    return checked


def _check_spark() -> None:
    """The Spark engine's needs (pyspark, Java), as one line before anything runs."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        raise OptionError("engine 'spark' needs pyspark: pip install 'lakefuse[spark]'")
    from lakefuse.engines.spark_engine import java_missing

    why = java_missing()
    if why:
        raise OptionError(f"engine 'spark': {why}")
