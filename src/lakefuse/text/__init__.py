"""Text handling shared by every stage: comparison forms (:mod:`~lakefuse.text.normalize`),
numbers (:mod:`~lakefuse.text.numbers`), dates (:mod:`~lakefuse.text.dates`), places
(:mod:`~lakefuse.text.places`, ISO 3166 from pycountry), people's names and lists
(:mod:`~lakefuse.text.names`, nicknames from the ``nicknames`` package), abbreviations by
rule (:mod:`~lakefuse.text.abbreviations`), known words (:mod:`~lakefuse.text.words`),
equivalence of values (:mod:`~lakefuse.text.equivalence`), and whole-row text evidence for long
text (:mod:`~lakefuse.text.idf`: IDF-weighted words and character grams with IDF from the lake,
codes and numbers with units found by shape in :mod:`~lakefuse.text.codes`).

The bottom of the stages: it imports only the standard library, third-party packages and
:mod:`lakefuse.types` / :mod:`lakefuse.errors`."""

from __future__ import annotations

from lakefuse.text.normalize import fold, key, normalize, words

__all__ = ["fold", "key", "normalize", "words"]
