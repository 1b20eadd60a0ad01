"""Options of each judge (``--judge-opt KEY=VALUE``): types, defaults, ranges.

Light on purpose (pydantic only): the CLI and ``Settings.validate`` read these models without
importing torch. :data:`lakefuse.judge.ssacl.DEFAULTS` is :class:`SSACLOptions`' defaults."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from lakefuse.block.options import Encoder
from lakefuse.registry import Options

Unit = Annotated[float, Field(ge=0, le=1)]


class SimilarityOptions(Options):
    """Weighted mean of per-attribute similarities over the attributes both tuples have
    (weights: each attribute's distinctiveness); no training."""

    threshold: float = Field(
        0.8,
        ge=0,
        le=1,
        description="A pair is integrable from this score on (--threshold overrides).",
    )
    identifying: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Attributes at least this distinctive (distinct/non-null) identify tuples.",
    )
    veto: float = Field(
        0.6,
        ge=0,
        le=1,
        description="An identifying attribute with a similarity below this forbids the pair.",
    )


class SSACLOptions(Options):
    """Self-supervised adversarial contrastive learning (SSACL): an attention matcher trained
    on the tables being integrated, with no labels."""

    encoder: Encoder = Field(
        "auto",
        description="Text encoder of the cell values (auto: minilm-bf16 on a CPU with AMX, "
        "else the float32 minilm).",
    )
    numbers_by_chars: bool = Field(
        True,
        description="Values of digits and separators only (ids, dates, postcodes, prices) "
        "embedded as hashed character 3-grams, not by the encoder.",
    )
    adversarial: bool = Field(True, description="Also train on adversarial examples (FGSM).")
    se_aug: bool = Field(True, description="Positives by semantic equivalents (augmentation).")
    te_aug: bool = Field(True, description="Positives by typos (augmentation).")
    drop_aug: bool = Field(True, description="Positives by dropped attributes (augmentation).")
    epochs: int = Field(6, ge=1, description="Training epochs (at least).")
    min_steps: int = Field(
        300, ge=0, description="Small tables: more epochs, until this many training steps."
    )
    temperature: float = Field(0.1, gt=0, description="Temperature of the contrastive loss.")
    epsilon: float = Field(
        0.3, ge=0, le=1, description="Radius of the adversarial perturbation (0: none)."
    )
    adv_weight: float = Field(1.0, ge=0, description="Weight of the adversarial losses.")
    bce_weight: float = Field(1.0, ge=0, description="Weight of the calibrating binary loss.")
    loss: Literal["infonce", "dcl"] = Field(
        "infonce",
        description="Contrastive loss: infonce, or dcl (decoupled: the positive left out "
        "of the denominator).",
    )
    max_anchors: int = Field(2000, ge=1, description="Most anchor tuples sampled for training.")
    n_neg: int = Field(7, ge=1, description="Negatives per anchor.")
    key_share: float = Field(
        0.25, ge=0, le=1, description="Share of anchors that also make a join-key group."
    )
    neighbours: int = Field(10, ge=1, description="Nearest neighbours per tuple (hard negatives).")
    batch: int = Field(64, ge=1, description="Groups per training batch.")
    lr: float = Field(3e-3, gt=0, description="Learning rate (AdamW).")
    hidden: int = Field(32, ge=1, description="Hidden units of the matcher.")
    ensemble: int = Field(
        1, ge=1, description="Matchers averaged (seeds seed, seed + 1009, ...); 1: one."
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="Torch, faiss and encoder threads for training and scoring (null: every "
        "core this process may use, or $LAKEFUSE_THREADS).",
    )
    target_groups: int = Field(
        2000, ge=1, description="Small tables: several positive views per anchor, up to this."
    )
    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Decision threshold (null: label-free, by threshold_method; "
        "--threshold overrides).",
    )
    threshold_method: Literal["calibrated", "prior-em", "otsu"] = Field(
        "calibrated",
        description="Label-free threshold: the calibrated score cut at threshold_posterior, "
        "a prior-shift correction (prior-em) or Otsu's split of the candidates' scores.",
    )
    threshold_posterior: float = Field(
        0.45, ge=0, le=1, description="Cut of the calibrated score (threshold_method)."
    )
    threshold_bounds: tuple[Unit, Unit] = Field(
        (0.4, 0.7),
        description="[low, high] bounds of a prior-em or otsu threshold, in [0, 1].",
    )
    max_chance_matches: float | None = Field(
        0.25,
        ge=0,
        description="A pair that shares several attributes is not integrable when this "
        "many other tuples of a side's table, or more, are expected to agree with it on "
        "every value the pair agrees on (common values only: a given name, a state and a "
        "house number); null: off.",
    )
    fellegi_sunter: bool = Field(
        True,
        description="Also fit a Fellegi-Sunter model of the tables without labels (u from "
        "random pairs, m by EM, as Splink does) and accept the pairs it is sure of "
        "(fs_threshold) that share two attributes or more.",
    )
    fs_tf: bool = Field(
        True,
        description="The Fellegi-Sunter model weighs an exact agreement by how common the "
        "value is (a term-frequency adjustment, as Splink's), not by the attribute's average.",
    )
    fs_veto: float = Field(
        # 1/2: more likely different than one. Measured on the scale bench's generated people
        # (50k): 0.1, 0.3, 0.5, 0.9 gave F1 0.924, 0.931, 0.934, 0.934 (0.921 without)
        0.5,
        ge=0,
        le=1,
        description="A pair sharing several attributes whose Fellegi-Sunter posterior is "
        "below this is not accepted by the matcher, nor scored by it (0: off).",
    )
    fs_threshold: float = Field(
        0.9, ge=0, le=1, description="Posterior from which the Fellegi-Sunter model accepts."
    )
    fs_skip: float = Field(
        # tuned on bench data: at 50k generated people (the scale bench) the matcher
        # accepted none of the 796k candidate pairs with posteriors in [1e-4, 1e-3)
        1e-3,
        ge=0,
        le=1,
        description="A pair sharing several attributes whose Fellegi-Sunter posterior is "
        "below this is rejected without the matcher (0: only those under fs_veto; both 0: "
        "the matcher scores every pair).",
    )
    single_key: Literal["similarity", "learned"] = Field(
        "similarity",
        description="A pair sharing one attribute only is judged by the plain similarity "
        "rule, or by the learned matcher.",
    )

    @field_validator("threshold_bounds")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] > v[1]:
            raise ValueError("low must be <= high")
        return v
