"""The JSON writer: the standard library's text (ASCII escapes included), whichever library writes it."""

from __future__ import annotations

import json
import random

import pytest

from detector import jsontext


def sample(rng: random.Random, depth: int = 0):
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return rng.choice([None, True, False, 0, -1, 2**63 - 1, 1790000000.123456, 0.5, 12.75])
    if kind == 1:
        return "".join(rng.choice(["a", "é", "\u202e", "\u2028", "\U0001F600", "\x00", "\x1f", "\x7f", '"', "\\"])
                       for _ in range(rng.randrange(6)))
    if kind == 2:
        return rng.randrange(-10**12, 10**12)
    if kind == 3:
        return []
    if kind == 4:
        return [sample(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{n}\u00e9" if n % 3 == 0 else f"k{n}": sample(rng, depth + 1) for n in range(rng.randrange(4))}


@pytest.mark.parametrize("seed", range(60))
def test_same_text_as_the_standard_library(seed):
    data = {"findings": [sample(random.Random(seed)) for _ in range(5)], "empty": {}, "none": []}
    assert jsontext.dumps_indented(data) == json.dumps(data, indent=2)


def test_no_raw_non_ascii_reaches_the_text():
    text = jsontext.dumps_indented({"user": "adm\u202ein\u2028\U0001F600", 3: "int key"})
    assert text.isascii() and "\\u202e" in text and "\\ud83d\\ude00" in text
    assert json.loads(text) == {"user": "adm\u202ein\u2028\U0001F600", "3": "int key"}


def test_values_orjson_refuses_fall_back_to_the_standard_library():
    data = {"big": 2**70, "tuple": (1, 2)}
    assert jsontext.dumps_indented(data) == json.dumps(data, indent=2)


def test_without_orjson(monkeypatch):
    monkeypatch.setattr(jsontext, "orjson", None)
    assert jsontext.dumps_indented({"a": "é"}) == json.dumps({"a": "é"}, indent=2)
