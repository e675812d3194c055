"""The stream checks' own judgement: what is a repeated or dropped delta, which stop to send."""

from __future__ import annotations

import pytest

from conformance.contract.streams import delta_defect, stream_stop

COUNTING = ["1", " 2", " 3", " 4", " 5", " 6"]
REPLY = "1 2 3 4 5 6"


@pytest.mark.parametrize(
    ("pieces", "found"),
    [
        ([*COUNTING[:3], " 3", *COUNTING[3:]], "repeats ' 3'"),
        ([p for p in COUNTING for _ in (0, 1)], "6 deltas repeat"),
        (COUNTING[:2] + COUNTING[3:], "' 3' is missing"),
        (COUNTING[1:], "'1' is missing"),
        (COUNTING[:-1], "' 6' is missing"),
        (COUNTING[:3] + COUNTING[1:3] + COUNTING[3:], "repeats ' 2 3'"),
    ],
    ids=["one repeated", "every one twice", "middle dropped", "first dropped", "last dropped",
         "a run repeated"],
)  # fmt: skip
def test_repeated_and_dropped_deltas_are_named(pieces, found):
    assert found in (delta_defect(pieces, REPLY) or "")


@pytest.mark.parametrize(
    ("pieces", "reply"),
    [
        (COUNTING, REPLY),
        (["1", " 2", " 3", " 4", " 5", " 7"], REPLY),  # a different token, not a delta fault
        (["Sure", ":", " 1", " 2"], "1 2"),  # text a non-stream reply does not have
        (["\n\n", "1", " 2"], "1 2"),  # leading blank lines
        (["1", " 2"], "\n\n1 2"),  # blank text missing is not content dropped
        (["1", " 2", " 3"], "1  2 3"),  # whitespace only
        (["1 2", " 3"], "1 x2 3"),  # missing inside a delta, not between two
        (["1", " 2", " 3"], "1 3 2"),  # reordered
    ],
    ids=["equal", "other token", "extra preamble", "extra blank lines", "missing blank lines",
         "whitespace", "inside a delta", "reordered"],
)  # fmt: skip
def test_other_differences_are_not_delta_faults(pieces, reply):
    assert delta_defect(pieces, reply) is None


def test_stop_spans_two_deltas_near_the_middle():
    pieces = ["Echo:", " alpha", " beta", " gamma", " delta", " epsilon"]
    stop = stream_stop(pieces)
    assert stop == "ta g"
    text = "".join(pieces)
    start = text.find(stop)
    assert 0 < start < len("Echo: alpha beta") < start + len(stop)  # across a boundary


def test_stop_never_has_surrounding_whitespace():
    stop = stream_stop(["Hi ", " there", "\n\n", "friend"])
    assert stop == "i  t"  # the boundary before the blank lines is no printable stop
    # One delta, no boundary: a word of the reply, not its first.
    assert stream_stop(["one two three four five"]) in ("two", "three", "four", "five")
    assert stream_stop(["OK"]) is None
