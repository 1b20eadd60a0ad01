"""Typographical errors (TE): keyboard-neighbour substitution, insertion, deletion,
transposition, and doubled letters."""

from __future__ import annotations

import numpy as np

_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_POS = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}


def _neighbours() -> dict[str, str]:
    out: dict[str, str] = {}
    for c, (r, i) in _POS.items():
        near = []
        for dr in (-1, 0, 1):
            rr = r + dr
            if 0 <= rr < len(_ROWS):
                for di in (-1, 0, 1):
                    ii = i + di + (0 if dr <= 0 else 0)
                    if (dr, di) != (0, 0) and 0 <= ii < len(_ROWS[rr]):
                        near.append(_ROWS[rr][ii])
        out[c] = "".join(near)
    return out


KEYBOARD = _neighbours()
OPERATIONS = ("keyboard", "insert", "delete", "transpose", "double")


def keyboard_neighbour(c: str, rng: np.random.Generator) -> str:
    near = KEYBOARD.get(c.lower())
    if not near:
        return c
    n = near[int(rng.integers(len(near)))]
    return n.upper() if c.isupper() else n


def typo(value: str, rng: np.random.Generator, n_edits: int = 1) -> str:
    """``value`` with ``n_edits`` character-level errors inside its alphanumeric positions."""
    v = value
    for _ in range(n_edits):
        spots = [i for i, c in enumerate(v) if c.isalnum()]
        if len(spots) < 2:
            break
        i = spots[int(rng.integers(len(spots)))]
        op = OPERATIONS[int(rng.integers(len(OPERATIONS)))]
        if op == "keyboard":
            v = v[:i] + keyboard_neighbour(v[i], rng) + v[i + 1 :]
        elif op == "insert":
            v = v[:i] + keyboard_neighbour(v[i], rng) + v[i:]
        elif op == "delete":
            v = v[:i] + v[i + 1 :]
        elif op == "transpose" and i + 1 < len(v):
            v = v[:i] + v[i + 1] + v[i] + v[i + 2 :]
        else:
            v = v[:i] + v[i] + v[i:]
    return v
