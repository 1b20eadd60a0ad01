"""Benchmarks rebuilt the way the paper (Ji et al., arXiv 2412.00324) describes: real tables,
injected noise, the paper's metrics, and the systems a user would pick instead.

Commands (``lakefuse bench ...``)::

    make  --suite quick|full [--task NAME] [--setting S] [--seed N] -o bench-out/tasks
    score TASK_DIR OUTPUT_DIR [--json]
    run   --suite quick|full [--system PATTERN] -o bench-out   # bench.json, bench.md, png

Modules: :mod:`.noise` (SE / TE / conflict injection), :mod:`.tasks` (task catalogue and
generation), :mod:`.gold` (file formats), :mod:`.metrics`, :mod:`.baselines` (exact full
disjunction, Splink), :mod:`.systems` (the rows: baselines and lakefuse variants),
:mod:`.run` (orchestration and report), :mod:`.chart`.

Task folder
-----------
``<tasks>/<base>-<setting>/`` where setting is ``balanced``, ``te_heavy``, ``se_heavy``
(rates in :data:`lakefuse.bench.noise.SETTINGS`) or ``none`` (Magellan: the data's own noise).

``input/*.csv``
    The source tables; the file stem is the table name. Empty cell = null.
``gold/sets.csv``
    ``table,row,set_id``: the gold integrable sets. ``row`` is the 0-based data row of
    ``input/<table>.csv`` (as in lakefuse's membership.csv). Every input tuple is in at least
    one set (singletons included); in join-style tasks a tuple may be in several sets.
``gold/clean.csv``
    ``set_id`` then one column per attribute: the clean value of every attribute of every
    gold set (empty = no tuple of the set carries it). Absent for Magellan tasks.
``gold/conflicts.jsonl``
    One JSON object per conflict, in the paper's format: ``set_id``, ``set`` (list of
    ``[table, row]``), ``known`` (attribute -> the value where the set's tuples agree),
    ``attribute`` (the conflicted one), ``candidates`` (distinct values the set's tuples
    carry, sorted), ``truth`` (the clean value), ``truth_in_candidates``. A conflict is a
    (gold set, attribute) whose tuples carry two or more distinct values after noise.
``gold/task.json``
    Provenance and statistics: base task, kind (``entity``, ``join``, ``magellan``), source,
    noise setting and seed, generation parameters, per-table rows, and the noise actually
    injected (``noise.rates`` per kind, ``noise.kinds`` per sub-kind).

Generation
----------
* Entity style (:func:`.tasks.entity_draft`): every clean entity goes to each of
  ``n_sources`` sources with probability ``coverage`` (at least one); each source keeps the
  identifying ``primary`` column and a random part of the others; rows shuffled.
* Join style (:func:`.tasks.join_draft`): a clean universal table is projected onto tables
  sharing keys (one-to-many); ``row_keep`` of each projection survives. Gold sets are the
  full disjunction of the clean projections (overlapping, subsumed sets removed).
* Magellan (:func:`.tasks.magellan_draft`): tableA/tableB (ids and leaking ``class`` dropped);
  gold sets are the connected components of label-1 pairs (train+valid+test).
* Noise (:func:`.tasks.inject`): each non-null cell independently gets a conflict (another
  real value of the column), an SE variant or a TE typo with the setting's rates; a (set,
  attribute) carried by several tuples always keeps one clean copy, so the truth is among the
  candidates. Everything is deterministic for ``--seed``.

Prediction folder (what ``score`` reads)
----------------------------------------
lakefuse's output contract: ``membership.csv`` (``table,row,set_id``), optional
``integrated.csv`` (``set_id`` + attributes) and ``run.json`` (``stages`` with ``wall_s``
and ``peak_rss_mb``). The baselines write the same files. Metric definitions are in
:mod:`lakefuse.bench.metrics`.
"""
