"""The text layer: comparison forms, numbers, dates, places, names, abbreviations by rule."""

from __future__ import annotations

import unicodedata
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from lakefuse.text.abbreviations import abbreviates, abbreviation_forms, acronym, same_words
from lakefuse.text.dates import as_date, date_formats, date_keys
from lakefuse.text.equivalence import canonical, same_meaning
from lakefuse.text.names import same_given_name
from lakefuse.text.normalize import fold, key, normalize, strip_accents, undot, words
from lakefuse.text.numbers import as_number, number_formats, parse_number
from lakefuse.text.places import place_names, unique_place


def test_comparison_forms() -> None:
    assert fold("  Böhlen,  M. ") == "bohlen, m."
    assert normalize("Michael B&#246;hlen") == "michael bohlen"
    assert normalize("AT&amp;T") == normalize("AT&T") == "at t"
    assert key("Green Bay,  WI.") == "greenbaywi"
    assert words("the 8th int'l workshop") == ["the", "8th", "intl", "workshop"]
    assert undot("U.S.A.") == "USA" and undot("n.y.") == "ny" and undot("St.") == "St."


@given(st.text())
def test_strip_accents_equals_the_decomposition_without_marks(text: str) -> None:
    """The ASCII shortcut gives what the decomposition gives (accented letters kept in the
    alphabet so that both paths are taken)."""
    for t in (text, text + "é", "Böhlen " + text):
        nfkd = unicodedata.normalize("NFKD", t)
        assert strip_accents(t) == "".join(c for c in nfkd if not unicodedata.combining(c))
    assert strip_accents("Böhlen") == "Bohlen"


def test_numbers_and_dates() -> None:
    assert as_number("$1,200.50") == 1200.5 and as_number("12%") == 12.0
    assert as_number("1.2k") is None and parse_number("1.2k") == 1200.0
    assert parse_number("3M") == 3e6 and parse_number("1 200") == 1200.0
    assert all(parse_number(f) == 12500 for f in number_formats(12500.0))
    assert as_date("05/01/2020") == as_date("2020-01-05")  # day first
    assert date_keys("05/01/2020") == {(2020, 1, 5), (2020, 5, 1)}  # both readings
    assert date_keys("Jan 26, 1911") == date_keys("26 January 1911") == {(1911, 1, 26)}
    assert all(as_date(s) is not None for s in date_formats(date(2021, 3, 4)))


def test_places_of_every_country_by_name_and_code() -> None:
    assert place_names("NSW") == {"new south wales"}
    assert "bayern" in place_names("BY") and "bayern" in place_names("Bayern")
    assert {"florida", "flevoland"} <= place_names("FL")  # a code several places share
    assert unique_place("FL") is None and unique_place("United States of America")
    assert place_names("Britain") == {"united kingdom"}
    assert "united kingdom" in place_names("U.K.")  # and Uttarakhand (IN-UK)
    assert not place_names("Lambeau Field")
    assert canonical("USA") == canonical("U.S.") == canonical("United States")


def test_nicknames() -> None:
    assert same_given_name("bill", "william") and same_given_name("kate", "katherine")
    assert not same_given_name("john", "mary")


def test_abbreviations_by_rule() -> None:
    assert abbreviates("univ", "university") and abbreviates("stad", "stadium")  # truncation
    assert abbreviates("mgmt", "management") and abbreviates("blvd", "boulevard")  # contraction
    assert not abbreviates("bay", "bradley")  # a word of its own is no contraction
    assert not abbreviates("stadium", "st")
    assert acronym("Bank of America") == "BA" and acronym("United Nations") == "UN"
    assert same_words(["main", "st"], ["main", "street"])
    assert not same_words(["main", "street"], ["main", "street"])  # equal: nothing abbreviated
    assert same_meaning("Yankee Stadium", "Yankee Stad.")
    assert not same_meaning("Yankee Stadium", "Soldier Field")
    forms = abbreviation_forms("Stadium")
    assert forms and all(abbreviates(f.casefold(), "stadium") for f in forms)
    assert abbreviation_forms("Bay") == [] and abbreviation_forms("1998") == []


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZk9 0-/._,'é\u212a\u0130x5")), max_size=14))
def test_a_text_with_codes_passes_the_arrow_prefilter(text: str) -> None:
    """Rows that the Arrow condition blanks hold no code: it is necessary for codes_of."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from lakefuse.text.codes import MAY_HOLD_CODE, codes_of

    may = pc.match_substring_regex(pa.array([text]), MAY_HOLD_CODE, ignore_case=True)
    if codes_of(text):
        assert may.to_pylist() == [True]
