"""Settings as data: one dataclass that fully describes a run, serialisable to run.json.

Each field's type, range and description are pydantic annotations: :meth:`Settings.validate`
checks them, the stage names and every stage's options (against the chosen strategy's model)
before a run reads or writes anything; ``lakefuse schema`` prints their JSON schema."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from lakefuse.registry import MAX_SEED, OptionError, first_error

#: command-line flag of each setting (error messages and the settings reference)
FLAGS = {
    "engine": "--engine",
    "spark_master": "--spark-master",
    "blocker": "--blocker",
    "judge": "--judge",
    "sets": "--sets",
    "resolver": "--resolver",
    "threshold": "--threshold",
    "max_candidates_per_tuple": "--max-candidates",
    "seed": "--seed",
    "columns": "--columns",
    "columns_file": "--columns",
    "model_path": "--model",
    "quiet": "--quiet",
    "blocker_options": "--blocker-opt",
    "judge_options": "--judge-opt",
    "sets_options": "--sets-opt",
    "resolver_options": "--resolver-opt",
}


def _options(stage: str, what: str) -> Any:
    return Field(
        default_factory=dict,
        description=f"Options of the chosen {what} (`lakefuse options {stage}`).",
    )


@dataclass
class Settings:
    """Every knob of a lakefuse run. Stage implementations are chosen by name.

    ``*_options`` hold strategy-specific keyword arguments, so that a new strategy
    needs no new field here; each strategy's options model validates them.
    """

    __pydantic_config__ = ConfigDict(allow_inf_nan=False)

    engine: Annotated[
        Literal["duckdb", "spark"],
        Field(description="Engine that runs the tuple-wide work (spark: the `spark` extra)."),
    ] = "duckdb"
    spark_master: Annotated[
        str | None,
        Field(description="Spark master URL for engine spark (null: local[*], started here)."),
    ] = None
    blocker: Annotated[str, Field(description="Candidate generation method.")] = "token"
    #: ssacl: the best measured pairwise F1 in every noise setting (bench)
    judge: Annotated[str, Field(description="Pairwise integrability judge.")] = "ssacl"
    sets: Annotated[str, Field(description="Integrable set discovery method.")] = "hybrid"
    #: typo_vote: best conflict accuracy in the full bench (>= truth on every task)
    resolver: Annotated[str, Field(description="Conflict resolution strategy.")] = "typo_vote"
    threshold: Annotated[
        float | None,
        Field(
            ge=0,
            le=1,
            allow_inf_nan=False,
            description="Decision threshold on the judge score (null: chosen without labels).",
        ),
    ] = None
    max_candidates_per_tuple: Annotated[
        int,
        Field(
            ge=1, le=100_000, description="Candidate pairs per tuple, on average (blocking budget)."
        ),
    ] = 50
    seed: Annotated[int, Field(ge=0, le=MAX_SEED, description="Random seed of the run.")] = 0
    columns: Annotated[
        dict[str, str] | None, Field(description="Header -> attribute mapping (--columns file).")
    ] = None
    columns_file: Annotated[
        str | None, Field(description="Where `columns` came from (named in errors).")
    ] = None
    surrogate_keys: Annotated[
        list[str] | None,
        Field(description="Row-id columns to ignore as evidence (null: detected)."),
    ] = None
    model_path: Annotated[
        str | None, Field(description="Saved judge to reuse (`lakefuse train`).")
    ] = None
    pairs_cache: Annotated[
        str | None,
        Field(
            description="pairs.parquet of an earlier run with the same inputs and judge: its "
            "scores are reused when its candidate pairs are exactly this run's."
        ),
    ] = None
    quiet: Annotated[bool, Field(description="No progress output.")] = False
    csv_escape: Annotated[
        bool,
        Field(
            description="Prefix CSV cells that a spreadsheet would run as a formula with ' "
            "(OWASP CSV injection)."
        ),
    ] = True
    blocker_options: Annotated[dict[str, Any], _options("blocker", "blocker")] = field(
        default_factory=dict
    )
    judge_options: Annotated[dict[str, Any], _options("judge", "judge")] = field(
        default_factory=dict
    )
    sets_options: Annotated[dict[str, Any], _options("sets", "set discovery method")] = field(
        default_factory=dict
    )
    resolver_options: Annotated[dict[str, Any], _options("resolver", "resolver")] = field(
        default_factory=dict
    )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def validate(self) -> Settings:
        """Every field's type and range checked (the stage names and each stage's options
        against the chosen strategy's model are checked above the stages, by
        :func:`lakefuse.validate.validate_settings`, which runs this first). Returns a
        validated copy (numbers given as text converted); raises
        :class:`lakefuse.registry.OptionError` (an InputError: one line naming the setting,
        the problem and the value given; exit code 2 in the CLI)."""
        return Settings.validated(self.to_dict())

    @classmethod
    def validated(cls, data: Mapping[str, Any]) -> Settings:
        """Settings from ``data`` (field -> value, as in run.json), validated
        (:meth:`validate`)."""
        data = dict(data)
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise OptionError(f"unknown setting {unknown[0]!r}")
        try:
            settings = _adapter().validate_python(data)
        except ValidationError as exc:
            key, text = first_error(exc, data, (), "settings")
            raise OptionError(f"{FLAGS.get(key, key)}: {text}") from None
        return settings


@functools.cache
def _adapter() -> TypeAdapter[Settings]:
    return TypeAdapter(Settings)


def json_schema() -> dict[str, Any]:
    """JSON schema of :class:`Settings` (run.json's ``settings``)."""
    return _adapter().json_schema()


def parse_options(pairs: Iterable[str] | None, flag: str = "option") -> dict[str, Any]:
    """``key=value`` strings (``--judge-opt`` and the like) as a dict; values parsed as JSON
    where they parse, else kept as text (the options model then checks each value's type).
    ValueError names an item without ``=``."""
    out: dict[str, Any] = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} {item!r}: not KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except (ValueError, RecursionError):  # not JSON (or too deep, too many digits)
            out[key] = value
    return out
