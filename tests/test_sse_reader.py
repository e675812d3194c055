"""Self-tests of the suite's own event-stream reader, transport/sse.py (HTML 9.2.5-9.2.6)."""

from __future__ import annotations

import dataclasses
import json
import random
import re
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.transport.sse import Event, EventStreamReader, FramingIssue, read_events

FIXTURES = Path(__file__).parent / "sse_fixtures"
BOM = b"\xef\xbb\xbf"


def bytewise(raw: bytes) -> list[bytes]:
    return [raw[i : i + 1] for i in range(len(raw))]


def random_pieces(raw: bytes, seed: int, max_size: int = 17) -> list[bytes]:
    rnd = random.Random(seed)
    pieces, i = [], 0
    while i < len(raw):
        size = rnd.randint(1, max_size)
        pieces.append(raw[i : i + size])
        i += size
    return pieces


def cut(raw: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(raw)}), len(raw)]
    return [raw[a:b] for a, b in pairwise(bounds)]


def read_all_ways(raw: bytes) -> list[Event]:
    """Read `raw` whole, byte by byte and in random pieces: all must agree, with no issue."""
    whole, issues = read_events([raw])
    assert issues == []
    for chunks in (bytewise(raw), random_pieces(raw, 1), random_pieces(raw, 2, 300)):
        events, issues = read_events(chunks)
        assert issues == []
        assert events == whole
    return whole


def relined(raw: bytes, endings: list[bytes]) -> bytes:
    """`raw` (LF-terminated lines) with line i ending in endings[i % len(endings)]."""
    lines = raw.split(b"\n")
    assert lines.pop() == b""
    return b"".join(line + endings[i % len(endings)] for i, line in enumerate(lines))


def blank_line_ends(raw: bytes) -> list[int]:
    """Where the first terminator byte of each blank line ends (streams without bare CRs)."""
    return [m.start() + 1 for m in re.finditer(rb"(?<=\n)(?:\r\n|\n)", raw)]


# Recorded streams --------------------------------------------------------------------------


def test_openai_chat_stream() -> None:
    raw = (FIXTURES / "openai_chat.sse").read_bytes()
    events = read_all_ways(raw)
    assert [e.data for e in events][-1] == "[DONE]"
    chunks = [json.loads(e.data) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "Hello, wörld 👋"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert {(e.event, e.id, e.retry, e.received_at) for e in events} == {("message", "", None, 0.0)}
    assert [e.offset for e in events] == blank_line_ends(raw)
    assert events[-1].offset == len(raw)


def test_openrouter_stream_with_processing_comments() -> None:
    raw = (FIXTURES / "openrouter_chat.sse").read_bytes()
    reader = EventStreamReader()
    events = [e for byte in bytewise(raw) for e in reader.feed(byte)]
    assert reader.close() == []
    assert reader.issues == []
    assert reader.comments == 3
    assert reader.bytes_seen == len(raw)
    for variant in (raw, raw.replace(b"\n", b"\r\n"), raw.replace(b"\n", b"\r")):
        whole = EventStreamReader()
        assert [e.data for e in whole.feed(variant)] == [e.data for e in events]
        assert whole.comments == 3
    assert events == read_all_ways(raw)
    assert [e.data for e in events][-1] == "[DONE]"
    assert json.loads(events[-2].data)["usage"]["total_tokens"] == 16
    text = "".join(json.loads(e.data)["choices"][0]["delta"]["content"] for e in events[:-1])
    assert text == "Bonjour à tous"


def test_crlf_cr_and_mixed_line_endings_read_the_same() -> None:
    lf = (FIXTURES / "openai_chat.sse").read_bytes()
    expected = [e.data for e in read_all_ways(lf)]
    crlf = relined(lf, [b"\r\n"])
    events = read_all_ways(crlf)
    assert [e.data for e in events] == expected
    # The event is complete at the blank line's CR, as in a browser.
    assert [e.offset for e in events] == [m.start() + 3 for m in re.finditer(b"\r\n\r\n", crlf)]
    cr = lf.replace(b"\n", b"\r")
    events = read_all_ways(cr)
    assert [e.data for e in events] == expected
    assert [e.offset for e in events] == [e.offset for e in read_events([lf])[0]]
    # (Never a CR then an LF-terminated blank line: together they would be a single CRLF.)
    for endings in ([b"\r\n", b"\n"], [b"\n", b"\r"], [b"\r", b"\r\n", b"\n", b"\r\n"]):
        mixed = relined(lf, endings)
        assert [e.data for e in read_all_ways(mixed)] == expected, endings


def test_comments_before_and_between_events() -> None:
    raw = (
        b": keep-alive\n\n:\n:no space\ndata: a\n: inside an event\ndata: b\n\n"
        b": keep-alive\r\n\r\ndata: c\r\n\r\n:bye\n"
    )
    reader = EventStreamReader()
    events = reader.feed(raw)
    reader.close()
    assert [e.data for e in events] == ["a\nb", "c"]
    assert reader.comments == 6
    assert reader.issues == []
    assert read_all_ways(raw) == events


def test_data_with_and_without_the_space() -> None:
    raw = b"data:a\n\ndata: b\n\ndata:  c\n\ndata: \n\ndata:\n\ndata::d\n\ndata:\t e\n\n"
    assert [e.data for e in read_all_ways(raw)] == ["a", "b", " c", "", "", ":d", "\t e"]


def test_id_event_and_retry_fields() -> None:
    raw = (
        b"retry: 3000\nid: 1\nevent: delta\ndata: a\n\n"
        b"data: b\n\n"  # the id persists; the event type and retry do not
        b"retry: 12a\nretry: \xef\xbc\x93\nretry:\nid: x\x00y\nevent:\ndata: c\n\n"
        b"id:\nretry:0\nevent: done\ndata: d\n\n"
        b"retry:  7\ndata: e\n\n"  # only one space is dropped: " 7" is not a number
    )
    events = read_all_ways(raw)
    assert [(e.data, e.event, e.id, e.retry) for e in events] == [
        ("a", "delta", "1", 3000),
        ("b", "message", "1", None),
        ("c", "message", "1", None),  # invalid retries and an id with NUL are ignored
        ("d", "done", "", 0),
        ("e", "message", "", None),
    ]


def test_unknown_fields_and_lines_without_a_colon_are_ignored_or_empty() -> None:
    raw = (
        b"foo: bar\nData: no\nDATA: no\ndata\n\n"  # "data" alone: an empty data line
        b"id: 7\nevent\ndata: x\n\n"  # "event" alone: empty type, so "message"
        b"id\ndata: y\n\n"  # "id" alone: the last event id becomes ""
        b" data: z\n\n"  # field name " data" is unknown
    )
    events = read_all_ways(raw)
    assert [(e.data, e.event, e.id) for e in events] == [
        ("", "message", ""),
        ("x", "message", "7"),
        ("y", "message", ""),
    ]


def test_multi_line_data_is_joined_with_newlines() -> None:
    raw = b"data: line1\ndata: line2\ndata:\ndata: line4\ndata\n\n"
    assert [e.data for e in read_all_ways(raw)] == ["line1\nline2\n\nline4\n"]


def test_empty_data_buffer_dispatches_nothing() -> None:
    raw = b"event: ping\n\nid: 5\n\nretry: 10\n\n\n\n\r\n\rdata: after\n\n"
    events = read_all_ways(raw)
    assert [(e.data, e.event, e.id, e.retry) for e in events] == [("after", "message", "5", None)]


def test_a_single_leading_bom_is_dropped() -> None:
    plain = (FIXTURES / "openai_chat.sse").read_bytes()
    events = read_all_ways(BOM + plain)
    assert [e.data for e in events] == [e.data for e in read_events([plain])[0]]
    # Offsets count the BOM's bytes.
    assert [e.offset for e in events] == [e.offset + 3 for e in read_events([plain])[0]]
    for split in range(1, 4):
        assert read_events([BOM[:split], BOM[split:] + plain])[0] == events
    # Only one BOM goes: a second one is part of the first field's name.
    assert read_all_ways(BOM + BOM + b"data: x\n\ndata: y\n\n")[0].data == "y"
    # A BOM after the start is just a character.
    assert read_all_ways(b"data: \xef\xbb\xbfx\n\n")[0].data == "\ufeffx"


def test_chunk_boundaries_inside_crlf_and_utf8_characters() -> None:
    raw = "data: é👋 wörld\r\n\r\ndata: ok\r\n\r\n".encode()
    expected = read_events([raw])[0]
    assert [e.data for e in expected] == ["é👋 wörld", "ok"]
    for i in range(1, len(raw)):
        for j in range(i, len(raw)):
            assert read_events([raw[:i], raw[i:j], raw[j:]]) == (expected, [])
    assert read_events([b"", raw[:3], b"", raw[3:], b""]) == (expected, [])


def test_events_are_ordinary_frozen_events() -> None:
    raw = b"event: e\nid: 1\nretry: 5\ndata: a\ndata: b\n\ndata: c\n\n"
    expected = [Event("a\nb", "e", "1", 5, 41, 0.0), Event("c", "message", "1", None, 50, 0.0)]
    for chunks in ([raw], bytewise(raw)):
        events, _ = read_events(chunks)
        assert events == expected
        for built, made in zip(events, expected, strict=True):
            assert type(built) is Event
            assert hash(built) == hash(made)
            assert repr(built) == repr(made)
            assert dataclasses.astuple(built) == dataclasses.astuple(made)
            assert not hasattr(built, "__dict__")
            with pytest.raises(dataclasses.FrozenInstanceError):
                built.data = "changed"  # type: ignore[misc]


# Framing problems --------------------------------------------------------------------------


def test_invalid_utf8_is_reported_and_replaced() -> None:
    raw = b"data: ok\n\ndata: a\xffb\n\n: caf\xc3\n\xed\xa0\x80: x\ndata: \xff\xfe!\n\n"
    for chunks in ([raw], bytewise(raw), random_pieces(raw, 3)):
        events, issues = read_events(chunks)
        assert [e.data for e in events] == ["ok", "a\ufffdb", "\ufffd\ufffd!"]
        assert issues == [
            FramingIssue(17, 3, "invalid UTF-8 at byte 17 (line 3): b'\\xff'"),
            FramingIssue(26, 5, "invalid UTF-8 at byte 26 (line 5): b'\\xc3'"),
            FramingIssue(28, 6, "invalid UTF-8 at byte 28 (line 6): b'\\xed\\xa0\\x80'"),
            FramingIssue(41, 7, "invalid UTF-8 at byte 41 (line 7): b'\\xff\\xfe'"),
        ]
        assert raw[17:18] == b"\xff"
        assert raw[41:43] == b"\xff\xfe"


def test_invalid_utf8_offsets_count_crlf_and_bom() -> None:
    raw = BOM + b"data: a\r\n\r\ndata: \x80\r\n\r\n"
    events, issues = read_events(bytewise(raw))
    assert [e.data for e in events] == ["a", "\ufffd"]
    assert issues == [FramingIssue(20, 3, "invalid UTF-8 at byte 20 (line 3): b'\\x80'")]
    assert read_events([raw]) == (events, issues)


def test_unterminated_final_event_is_discarded_and_reported() -> None:
    raw = b"data: a\n\ndata: b\ndata: c\n"
    for chunks in ([raw], bytewise(raw)):
        events, issues = read_events(chunks)
        assert [e.data for e in events] == ["a"]
        assert len(issues) == 1
        issue = issues[0]
        assert (issue.offset, issue.line) == (len(raw), 5)
        assert issue.message == (
            "stream ended inside an unterminated event: expected a blank line to dispatch it, "
            f"found end of stream at byte {len(raw)}; discarded 2 data line(s) from line 3 on, "
            "3 bytes of data: 'b\\nc'"
        )


def test_stream_ending_mid_line_is_reported() -> None:
    raw = b"data: a\r\n\r\ndata: b"
    for chunks in ([raw], bytewise(raw)):
        events, issues = read_events(chunks)
        assert [e.data for e in events] == ["a"]
        assert issues == [
            FramingIssue(
                len(raw),
                3,
                "stream ended mid-line: expected a line terminator (LF, CR or CRLF), found end "
                "of stream after 7 bytes of line 3 (which starts at byte 11); the line was "
                "discarded: b'data: b'",
            )
        ]


def test_mid_line_inside_an_event_and_mid_character_give_every_issue() -> None:
    events, issues = read_events([b"data: a\ndata: b\xc3"])
    assert events == []
    assert [i.message.split(":")[0] for i in issues] == [
        "invalid UTF-8 at byte 15 (line 2)",
        "stream ended mid-line",
        "stream ended inside an unterminated event",
    ]
    assert "discarded 1 data line(s) from line 1 on, 1 bytes of data: 'a'" in issues[2].message
    _, issues = read_events([b"\xef\xbb"])
    assert [i.message.split(":")[0] for i in issues] == [
        "invalid UTF-8 at byte 0 (line 1)",
        "stream ended mid-line",
    ]


def test_legal_endings_raise_no_issue() -> None:
    for raw in (b"", BOM, b"data: a\n\n", b"data: a\r\r", b"data: a\n\nid: 1\n", b": c\n"):
        for chunks in ([raw], bytewise(raw)):
            assert read_events(chunks)[1] == [], raw


def test_long_preview_is_truncated() -> None:
    _, issues = read_events([b"data: " + b"x" * 500])
    assert issues[0].message.endswith(f": {b'data: ' + b'x' * 54!r}... (446 more bytes)")


def test_many_invalid_bytes_are_capped() -> None:
    raw = b"".join(b"data: \xff\n" for _ in range(150)) + b"\n"
    events, issues = read_events([raw])
    assert len(events) == 1
    assert len(issues) == 101
    assert (
        issues[-1].message
        == "50 further invalid UTF-8 sequence(s) not listed (only the first 100 are)"
    )


def test_feed_after_close_is_an_error() -> None:
    reader = EventStreamReader()
    reader.feed(b"data: a\n\n")
    assert reader.close() == []
    assert reader.close() == []
    with pytest.raises(RuntimeError, match="after close"):
        reader.feed(b"data: b\n\n")
    assert reader.bytes_seen == 9


# Timing ------------------------------------------------------------------------------------


def test_received_at_is_the_time_of_the_completing_chunk() -> None:
    reader = EventStreamReader()
    got: list[Event] = []
    for chunk, at in [
        (b"data: a", 1.0),
        (b"\n", 2.0),
        (b"\ndata: b\n\nda", 3.0),
        (b"ta: c\r", 4.0),
        (b"\r", 5.0),  # the blank line's CR completes the event; the LF is not waited for
        (b"\n", 6.0),
        (b"data: d\r\n\r", 7.0),
        (b"\n: ping\n\n", 8.0),
        (b"data: e\n", 9.0),
        (b"\n", 10.0),
    ]:
        got += reader.feed(chunk, received_at=at)
    reader.close()
    assert reader.issues == []
    assert [(e.data, e.received_at) for e in got] == [
        ("a", 3.0),
        ("b", 3.0),
        ("c", 5.0),
        ("d", 7.0),
        ("e", 10.0),
    ]
    assert [e.offset for e in got] == [9, 18, 27, 38, 56]


# Property: any legal serialisation, split anywhere, reads back the same ----------------------

line_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"),
    max_size=12,
)
id_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x00"),
    max_size=8,
)
event_st = st.tuples(
    st.lists(line_text, min_size=1, max_size=4),  # data lines
    st.none() | line_text,  # event type
    st.none() | id_text,  # id
)


@st.composite
def legal_streams(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str, str]]]:
    """A random legal serialisation of random events, and what a reader must dispatch."""
    events = draw(st.lists(event_st, max_size=6))
    lines: list[str] = []
    expected: list[tuple[str, str, str]] = []
    last_id = ""

    def field(name: str, value: str) -> str:
        # Without the space, a value starting with a space would lose it.
        space = draw(st.booleans()) or value.startswith(" ")
        return f"{name}: {value}" if space else f"{name}:{value}"

    def comments() -> None:
        lines.extend(":" + c for c in draw(st.lists(line_text, max_size=2)))

    for data, etype, eid in events:
        fields = [field("data", d) for d in data]
        # The event and id fields go anywhere in the block; data lines keep their order.
        if etype is not None:
            fields.insert(draw(st.integers(0, len(fields))), field("event", etype))
        if eid is not None:
            fields.insert(draw(st.integers(0, len(fields))), field("id", eid))
            last_id = eid
        for f in fields:
            comments()
            lines.append(f)
        comments()
        lines.append("")
        lines.extend("" for _ in range(draw(st.integers(0, 2))))  # extra blank lines: no-ops
        expected.append(("\n".join(data), etype or "message", last_id))
    comments()

    out = [BOM] if draw(st.booleans()) else []
    # One kind of line ending for the whole stream, or any kind for each line.
    style = draw(st.sampled_from([[b"\n"], [b"\r"], [b"\r\n"], [b"\n", b"\r", b"\r\n"]]))
    previous = b""
    for line in lines:
        choices = list(style)
        if previous == b"\r" and not line and len(choices) > 1:
            choices.remove(b"\n")  # CR then an empty LF-terminated line would read as one CRLF
        previous = draw(st.sampled_from(choices))
        out += [line.encode(), previous]
    return b"".join(out), expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=legal_streams(), data=st.data())
def test_any_legal_serialisation_split_anywhere_reads_back(
    stream: tuple[bytes, list[tuple[str, str, str]]], data: st.DataObject
) -> None:
    raw, expected = stream
    cuts = data.draw(st.lists(st.integers(0, max(len(raw), 1)), max_size=12))
    whole, issues = read_events([raw])
    assert issues == []
    assert [(e.data, e.event, e.id) for e in whole] == expected
    assert all(raw[e.offset - 1 : e.offset] in (b"\n", b"\r") for e in whole)
    assert read_events(cut(raw, cuts)) == (whole, [])


# Property: on any bytes at all, the events are those of a literal reading of the spec ---------


def spec_reference(raw: bytes) -> tuple[list[tuple[str, str, str, int | None]], set[str]]:
    """The spec's algorithm, transcribed as literally as possible, over the whole stream."""
    problems = set()
    try:
        raw.decode()
    except UnicodeDecodeError:
        problems.add("invalid UTF-8")
    text = raw.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    *lines, rest = re.split("\r\n|\r|\n", text)
    if rest:
        problems.add("stream ended mid-line")
    events: list[tuple[str, str, str, int | None]] = []
    data, etype, last_id = "", "", ""
    retry: int | None = None
    for line in lines:
        if line == "":
            if data:
                events.append((data.removesuffix("\n"), etype or "message", last_id, retry))
            data, etype, retry = "", "", None
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data += value + "\n"
        elif name == "event":
            etype = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            retry = int(value)
    if data:
        problems.add("stream ended inside an unterminated event")
    return events, problems


soup = st.lists(
    st.sampled_from(
        [
            b"data",
            b"data:",
            b": ",
            b" ",
            b"\n",
            b"\r",
            b"\r\n",
            b"id",
            b"event",
            b"retry",
            b"x",
            b"7",
            b"\x00",
            b"\xc3\xa9",
            b"\xff",
            b"\xc3",
            BOM,
            b"\xf0\x9f\x91\x8b",
            b"data: ok\n\n",
        ]
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(raw=soup, data=st.data())
def test_any_bytes_read_like_the_spec_algorithm(raw: bytes, data: st.DataObject) -> None:
    expected, problems = spec_reference(raw)
    cuts = data.draw(st.lists(st.integers(0, max(len(raw), 1)), max_size=8))
    for chunks in ([raw], cut(raw, cuts)):
        events, issues = read_events(chunks)
        assert [(e.data, e.event, e.id, e.retry) for e in events] == expected
        kinds = {i.message.split(" at byte")[0].split(":")[0] for i in issues}
        assert kinds == problems
