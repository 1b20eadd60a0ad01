"""Conflict resolution: one interface (:class:`lakefuse.types.Resolver`), a strategy per class.

The resolver options of a run are one pool: ``per_attribute={"attr": "name", ...}`` picks a
strategy per attribute (the others use ``name``), and each strategy in use takes the options
of its model (:mod:`lakefuse.resolve.options`). An option that no strategy in use takes, or
a value its model refuses, is an :class:`lakefuse.registry.OptionError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakefuse.registry import OptionError, Registry, as_kwargs, check
from lakefuse.resolve.options import (
    ICLCROptions,
    SharedOptions,
    TruthOptions,
    TypoVoteOptions,
    VoteOptions,
)
from lakefuse.types import Resolver

RESOLVERS = Registry(
    "resolver",
    {
        "vote": ("lakefuse.resolve.vote:MajorityVote", VoteOptions),
        "typo_vote": ("lakefuse.resolve.typo:TypoVote", TypoVoteOptions),
        "truth": ("lakefuse.resolve.truth:SourceTruth", TruthOptions),
        "iclcr": ("lakefuse.resolve.iclcr:ICLCR", ICLCROptions),
    },
    flag="--resolver",
    # the context evidence's attribute weights (mutual information, scikit-learn)
    heavy={"typo_vote": ("sklearn.metrics",), "iclcr": ("sklearn.metrics",)},
)


def resolver_plan(
    name: str, options: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(attribute -> strategy of ``per_attribute``, strategy -> its validated constructor
    options) for every strategy in use; OptionError names the first bad name or option."""
    RESOLVERS.check_name(name)
    pool = dict(options)
    flag = RESOLVERS.option_flag
    shared = check(
        SharedOptions,
        {k: pool.pop(k) for k in SharedOptions.model_fields if k in pool},
        flag,
        "the resolver stage",
    )
    per_attribute: dict[str, str] = shared.per_attribute  # type: ignore[attr-defined]
    for attr, n in per_attribute.items():
        if n not in RESOLVERS.entries:
            raise OptionError(
                f"{flag} per_attribute: unknown resolver {n!r} for attribute {attr!r} "
                f"(available: {', '.join(RESOLVERS.names())})"
            )
    used = list(dict.fromkeys([name, *per_attribute.values()]))
    taken = {n: set(RESOLVERS.models[n].model_fields) for n in used}
    for key in pool:
        if not any(key in fields for fields in taken.values()):
            known = set(SharedOptions.model_fields).union(*taken.values())
            owners = " or ".join(repr(n) for n in used)
            raise OptionError(
                f"{flag} {key}: not an option of resolver {owners} "
                f"(options: {', '.join(sorted(known))})"
            )
    plan = {
        n: as_kwargs(RESOLVERS.validate(n, {k: v for k, v in pool.items() if k in taken[n]}))
        for n in used
    }
    return per_attribute, plan


def get_resolver(name: str, **options: Any) -> Resolver:
    per_attribute, plan = resolver_plan(name, options)
    built = {n: RESOLVERS.load(n)(**kwargs) for n, kwargs in plan.items()}
    if not per_attribute:
        return built[name]
    from lakefuse.resolve.dispatch import PerAttribute

    return PerAttribute(built[name], {a: built[n] for a, n in per_attribute.items()})


__all__ = ["RESOLVERS", "Resolver", "get_resolver", "resolver_plan"]
