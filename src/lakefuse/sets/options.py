"""Options of each set discovery method (``--sets-opt KEY=VALUE``): types, defaults, ranges.

Light on purpose (pydantic only): the CLI and ``Settings.validate`` read these models without
importing igraph, scikit-learn or torch."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from lakefuse.registry import MAX_SEED, Options


def _seed() -> Any:
    return Field(0, ge=0, le=MAX_SEED, description="Random seed of the method.")


def _clear(default: float | None) -> Any:
    return Field(
        default,
        ge=0,
        le=1,
        description="A non-integrable pair is not forbidden when more than this share of "
        "the attributes it shares agree (a value conflict, not two entities); null: off.",
    )


class ComponentsOptions(Options):
    """Connected components of the integrability graph (no options)."""


class CliquesOptions(Options):
    """Full-disjunction-style sets: maximal compatible cliques, overlap kept as found."""

    max_component: int = Field(
        400, ge=1, description="Larger components get the maximal cliques of their edges."
    )
    max_cliques: int = Field(10_000, ge=1, description="Most cliques listed per component.")
    clear: float | None = _clear(None)


class LouvainOptions(Options):
    """Louvain modularity optimisation (igraph's multilevel)."""

    resolution: float = Field(1.0, gt=0, description="Modularity resolution.")


class LeidenOptions(Options):
    """Leiden communities (guaranteed connected)."""

    objective: Literal["modularity", "cpm"] = Field(
        "modularity",
        description="modularity, or cpm (constant Potts: internal density above resolution).",
    )
    resolution: float = Field(1.0, gt=0, description="Resolution of the objective.")
    seed: int = _seed()


class InfomapOptions(Options):
    """Infomap (map equation, two-level) on the weighted graph."""

    trials: int = Field(1, ge=1, description="Infomap trials (the best is kept).")
    seed: int = _seed()


class SpectralOptions(Options):
    """Spectral clustering of the weighted adjacency; clusters by the largest eigengap."""

    max_nodes: int = Field(
        1500, ge=1, description="Larger components fall back to Leiden (dense eigenproblem)."
    )
    max_clusters: int | None = Field(
        None, ge=1, description="Most clusters per component (null: no cap)."
    )
    seed: int = _seed()


class GirvanNewmanOptions(Options):
    """Girvan-Newman edge betweenness, at the level of highest modularity (cubic)."""

    max_nodes: int = Field(80, ge=1, description="Larger components fall back to Leiden.")


class GNNOptions(Options):
    """Communities by a graph neural network (GCN + DMoN pooling) per component."""

    hidden: int = Field(32, ge=1, description="Hidden units.")
    epochs: int = Field(50, ge=1, description="Training epochs per component.")
    lr: float = Field(0.02, gt=0, description="Learning rate.")
    max_nodes: int = Field(1000, ge=1, description="Larger components fall back to Leiden.")
    seed: int = _seed()


class HybridOptions(Options):
    """Disjoint dense sets for entity-style data, overlapping full-disjunction sets where a
    tuple completes several others: small components judged completely, large ones cut by
    Leiden (constant Potts) first; the chaining guard last."""

    clique_limit: int = Field(
        80, ge=1, description="Components (and communities) up to this size are completed."
    )
    resolution: float = Field(0.5, gt=0, description="CPM resolution of the Leiden split.")
    max_cliques: int = Field(2_000, ge=1, description="Most cliques listed per component.")
    clear: float | None = _clear(0.5)
    clear_score: float = Field(
        0.0, ge=0, le=1, description="With clear: the pair's score must also reach this."
    )
    clear_always: float = Field(
        1.0, ge=0, le=1, description="A pair with at least this score is never forbidden."
    )
    keys: bool = Field(
        True,
        description="A pair agreeing on an attribute that identifies tuples in both its "
        "tables is not forbidden (from clear_score on).",
    )
    by_evidence: bool = Field(
        True,
        description="A tuple that completes none of its sets stays in the one it is most "
        "strongly linked to by edge weight times agreeing attributes (false: edge weight).",
    )
    cross_keys: bool = Field(
        True,
        description="Across tables, only a clash on an identifying attribute forbids a pair.",
    )
    outvoted: bool = Field(
        True,
        description="A forbidden pair is released when a third tuple explains each of its "
        "disagreements as one odd value.",
    )
    seed: int = _seed()
    one_to_one: bool = Field(
        True,
        description="Last step: between sources without internal duplicates (clean), a tuple "
        "matches at most one tuple of each; such pairs are matched one-to-one (mutual best "
        "by the row-text weight of lakefuse.text.idf: words, character grams, codes, numbers "
        "with units, agreeing numeric columns; where the judge is uninformative a tuple left "
        "alone may join its best candidate's group as a second partner) and run.json lists "
        "the clean sources and the second partners.",
    )
    one_to_one_min_text: float = Field(
        0.3,
        ge=0,
        le=1,
        description="With one_to_one: a mutual-best pair the judge rejected is kept when its "
        "row-text cosine exceeds this.",
    )
    one_to_one_max_duplicates: float = Field(
        0.25,
        ge=0,
        le=1,
        description="With one_to_one: a source is clean when at most this share of its "
        "tuples has an integrable edge inside the source.",
    )
    one_to_one_max_fan_out: float = Field(
        0.5,
        ge=0,
        le=1,
        description="With one_to_one: two clean sources are not matched one-to-one when more "
        "than this share of the tuples linked across them is linked to several.",
    )
