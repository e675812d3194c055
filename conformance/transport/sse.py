"""Incremental reader of the WHATWG event-stream format (HTML 9.2.5-9.2.6), working on raw bytes.

The reader follows the spec's interpretation algorithm exactly, as a browser's EventSource
would, and records framing problems (invalid UTF-8, a stream cut mid-line or mid-event) as
`FramingIssue`s instead of raising, so a check can both use the events and judge the framing.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate
from operator import add
from typing import Any, cast

__all__ = ["Event", "EventStreamReader", "FramingIssue", "read_events"]

_BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"(\r\n|\r|\n)")
_EOL_TEXT = re.compile(r"(\r\n|\r|\n)")
# Per kind of line ending: the separator, the raw separator of a blank line, the first byte of
# the separator (in a region with this one kind, it occurs nowhere else), the separator's length.
_LF = ("\n", b"\n\n", 10, 1)
_CR = ("\r", b"\r\r", 13, 1)
_CRLF = ("\r\n", b"\r\n\r\n", 13, 2)
_PREVIEW_LEN = 60
# A binary body would otherwise produce one issue per byte.
_MAX_UTF8_ISSUES = 100


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched event, as an EventSource would deliver it."""

    data: str
    event: str
    """The event type; "message" when no `event` field was given."""
    id: str
    """The last event ID at dispatch ("" if none was ever set)."""
    retry: int | None
    """The last valid `retry` value seen in this event's block, else None."""
    offset: int
    """Raw-stream byte offset (BOM included) just after the terminator byte of the blank line
    that dispatched the event; for a CRLF blank line that is after the CR, where a browser
    already dispatches, so the offset does not depend on how the bytes were chunked."""
    received_at: float
    """The `received_at` of the `feed()` call whose chunk completed the event."""


@dataclass(frozen=True, slots=True)
class FramingIssue:
    """A framing problem; the reader carries on past it as a browser would."""

    offset: int
    line: int
    message: str


def _preview(value: bytes | str) -> str:
    if len(value) <= _PREVIEW_LEN:
        return repr(value)
    unit = "bytes" if isinstance(value, bytes) else "characters"
    return f"{value[:_PREVIEW_LEN]!r}... ({len(value) - _PREVIEW_LEN} more {unit})"


class _Unfrozen:
    """Event's twin without the frozen __setattr__: built, then turned into an Event.

    A frozen dataclass's __init__ goes through object.__setattr__ once per field, which made
    building Events the largest single cost of reading a stream. Plain slot stores on a twin
    with the very same slots, then a __class__ switch (allowed between identical layouts), are
    about twice as fast and give an ordinary Event, equal to `Event(...)` in every respect.
    """

    __slots__ = Event.__slots__


def _new_event(
    data: str, event: str, id: str, retry: int | None, offset: int, received_at: float
) -> Event:
    ev: Any = _Unfrozen()
    ev.data = data
    ev.event = event
    ev.id = id
    ev.retry = retry
    ev.offset = offset
    ev.received_at = received_at
    ev.__class__ = Event
    return cast(Event, ev)


class EventStreamReader:
    """Feed raw bytes as they arrive; get back the events each chunk completed."""

    def __init__(self) -> None:
        self.issues: list[FramingIssue] = []
        self.comments = 0
        self.bytes_seen = 0
        # Bytes of the current, unterminated line (only ever joined once it ends).
        self._partial = b""
        # Further pieces of a line that spans three or more chunks (joined once, when it ends).
        self._pieces: list[bytes] = []
        self._line_off = 0  # raw offset where the current line starts
        self._line_no = 1  # 1-based number of the current line
        self._skip_lf = False  # previous chunk ended with CR: a leading LF completes a CRLF
        self._bom_pending = True
        self._closed = False
        # Any of the three flags above: feed() only tests this one on its fast path.
        self._unusual = True
        self._data: list[str] = []
        self._data_line = 0  # line of the first data field of the pending event
        self._event = ""
        self._last_id = ""
        self._retry: int | None = None
        self._utf8_reported = 0
        self._utf8_suppressed = 0

    def feed(self, chunk: bytes, received_at: float = 0.0) -> list[Event]:
        """Consume the next chunk; return the events it completed, stamped `received_at`."""
        self.bytes_seen += len(chunk)
        if self._unusual:
            chunk = self._prologue(chunk)
        n = len(chunk)
        lf = chunk.rfind(b"\n")
        # `13 in chunk` is a bare memchr, much cheaper than rfind() when there is no CR.
        cr = chunk.rfind(b"\r") if 13 in chunk else -1
        region = self._complete_lines(chunk, max(lf, cr))
        if region is None:
            return []
        start = self._line_off
        self._line_off = start + len(region)
        if cr >= 0 and cr == n - 1:
            # A CR ending the chunk may be the first half of a CRLF.
            self._skip_lf = self._unusual = True
        if cr < 0:
            ending = _LF
        elif lf < 0:
            ending = _CR
        elif region.count(b"\r") == region.count(b"\n") == region.count(b"\r\n"):
            ending = _CRLF
        else:
            return self._feed_mixed(region, start, received_at)
        return self._feed_parts(region, start, ending, received_at)

    def _complete_lines(self, chunk: bytes, last: int) -> bytes | None:
        """The bytes up to the chunk's last line ending, after what earlier chunks left.

        None when the chunk ends no line: it is kept, and joined only once its line ends.
        """
        partial = self._partial
        if last < 0:
            if not partial:
                self._partial = chunk
            elif chunk:
                self._pieces.append(chunk)
            return None
        last += 1
        if not partial:
            region = chunk[:last]
        elif self._pieces:
            self._pieces.append(chunk[:last])
            region = partial + b"".join(self._pieces)
            self._pieces = []
        else:
            region = partial + chunk[:last]
        self._partial = chunk[last:]
        return region

    def _feed_mixed(self, region: bytes, start: int, received_at: float) -> list[Event]:
        """Mixed line endings: rare, so simply go line by line with every offset computed."""
        line_no = self._line_no
        try:
            text = region.decode()
        except UnicodeDecodeError:
            text = self._bad_utf8(region, start, line_no)
        lines = _EOL_TEXT.split(text)[0:-1:2]
        pieces = _EOL.split(region)
        ends = accumulate(map(add, map(len, pieces[0:-1:2]), map(len, pieces[1::2])), initial=start)
        self._line_no = line_no + len(lines)
        out: list[Event] = []
        self._take(lines, [e + 1 for e in ends], line_no, received_at, out)
        return out

    def _feed_parts(
        self, region: bytes, start: int, ending: tuple[str, bytes, int, int], received_at: float
    ) -> list[Event]:
        """Complete lines with one kind of line ending, parsed part by part.

        Longer than the other functions on purpose: this is the reader's hot loop, with the
        parser's state in locals and the common cases inlined (bench/run.py measures it
        against httpx-sse); _take() and _dispatch() are the same logic, for the rare paths.
        """
        sep, dsep, first, seplen = ending
        line_no = self._line_no
        out: list[Event] = []
        # One kind of line ending: cut the raw bytes into parts, each the lines before a blank
        # line, so that the common event (a single "data: " line) costs one iteration; decode
        # each part once (which is also what checks the stream is UTF-8: only the ASCII
        # terminators are never decoded).
        find = region.find
        size = len(region)
        i = 0  # offset in `region` of the current part
        nparts = 0
        extra = 0  # lines beyond two per part (its first line and the blank line after it)
        # Parser state lives in locals here; _take() and _dispatch() use the attributes.
        comments = 0
        data = self._data
        etype = self._event
        last_id = self._last_id
        retry = self._retry
        # Finding a one-byte terminator is a memchr, several times faster than finding `dsep`.
        while (q := find(first, i)) >= 0:
            blank = q + seplen  # where the line after the one ending at q starts
            if blank < size and region[blank] == first:
                one_line = True
            else:
                q = find(dsep, q)
                if q < 0:
                    break
                blank = q + seplen
                one_line = False
            # region[i:q] is a part, and a blank line starts at `blank`.
            nparts += 1
            if one_line and not data and region[i : i + 6] == b"data: ":
                raw = region[i + 6 : q]
                try:
                    value = raw.decode()
                except UnicodeDecodeError:
                    value = self._bad_utf8(
                        raw, start + i + 6, line_no + region.count(dsep[:seplen], 0, i)
                    )
            else:
                part = region[i:q]
                try:
                    text = part.decode()
                except UnicodeDecodeError:
                    text = self._bad_utf8(
                        part, start + i, line_no + region.count(dsep[:seplen], 0, i)
                    )
                lines = text.split(sep)
                extra += len(lines) - 1
                # The general case, still inline and on locals: _take() without its calls.
                # Only a part's first line can be blank; it dispatches what was pending.
                if not lines[0]:
                    if data:
                        out.append(
                            _new_event(
                                "\n".join(data),
                                etype or "message",
                                last_id,
                                retry,
                                start + i + 1,
                                received_at,
                            )
                        )
                        data = []
                    etype = ""
                    retry = None
                for line in lines:
                    # The usual spellings first: cheaper than the general partition.
                    if line[:6] == "data: ":
                        data.append(line[6:])
                    elif line[:7] == "event: ":
                        etype = line[7:]
                    elif line[:4] == "id: " and "\0" not in line:
                        last_id = line[4:]
                    elif not line:
                        pass
                    elif line[0] == ":":
                        comments += 1
                    else:
                        name, _, value = line.partition(":")
                        if value[:1] == " ":
                            value = value[1:]
                        if name == "data":
                            data.append(value)
                        elif name == "event":
                            etype = value
                        elif name == "id":
                            if "\0" not in value:
                                last_id = value
                        elif name == "retry" and value.isascii() and value.isdigit():
                            retry = int(value)
                if not data:
                    etype = ""
                    retry = None
                    i = blank + seplen
                    continue
                value = data[0] if len(data) == 1 else "\n".join(data)
                data = []
            # Dispatch; _new_event() inlined, as this runs once per event.
            ev: Any = _Unfrozen()
            ev.data = value
            ev.event = etype or "message"
            ev.id = last_id
            ev.retry = retry
            ev.offset = start + blank + 1
            ev.received_at = received_at
            ev.__class__ = Event
            out.append(ev)
            etype = ""
            retry = None
            i = blank + seplen
        self._data = data
        self._event = etype
        self._last_id = last_id
        self._retry = retry
        if comments:
            self.comments += comments
        line_no += 2 * nparts + extra
        if i < len(region):
            tail = region[i:-seplen]
            try:
                text = tail.decode()
            except UnicodeDecodeError:
                text = self._bad_utf8(tail, start + i, line_no)
            lines = text.split(sep)
            self._take(lines, [start + i + 1], line_no, received_at, out)
            line_no += len(lines)
        self._line_no = line_no
        return out

    def _take(
        self, lines: list[str], ends: list[int], line_no: int, received_at: float, out: list[Event]
    ) -> None:
        """Interpret `lines`, the first being line `line_no`; blank line i ends at `ends[i]`."""
        for i, line in enumerate(lines):
            if not line:
                self._dispatch(ends[i], received_at, out)
            elif line[0] == ":":
                self.comments += 1
            else:
                name, _, value = line.partition(":")
                if value[:1] == " ":
                    value = value[1:]
                if name == "data":
                    if not self._data:
                        self._data_line = line_no + i
                    self._data.append(value)
                elif name == "event":
                    self._event = value
                elif name == "id":
                    if "\0" not in value:
                        self._last_id = value
                # The spec wants ASCII digits only; str.isdigit() alone accepts any Unicode digit.
                elif name == "retry" and value.isascii() and value.isdigit():
                    self._retry = int(value)

    def _dispatch(self, end: int, received_at: float, out: list[Event]) -> None:
        data = self._data
        if data:
            out.append(
                _new_event(
                    data[0] if len(data) == 1 else "\n".join(data),
                    self._event or "message",
                    self._last_id,
                    self._retry,
                    end,
                    received_at,
                )
            )
            self._data = []
        self._event = ""
        self._retry = None

    def close(self) -> list[Event]:
        """Mark the end of the stream; pending data is discarded per spec, so this returns []."""
        if self._closed:
            return []
        self._closed = self._unusual = True
        rest = self._partial + b"".join(self._pieces)
        self._partial = b""
        self._pieces = []
        if rest:
            self._find_invalid_utf8(rest, self._line_off, self._line_no)
            self.issues.append(
                FramingIssue(
                    self.bytes_seen,
                    self._line_no,
                    f"stream ended mid-line: expected a line terminator (LF, CR or CRLF), found "
                    f"end of stream after {len(rest)} bytes of line {self._line_no} (which "
                    f"starts at byte {self._line_off}); the line was discarded: {_preview(rest)}",
                )
            )
        if self._data:
            text = "\n".join(self._data)
            count = len(self._data)
            self._data = []
            self.issues.append(
                FramingIssue(
                    self.bytes_seen,
                    self._line_no,
                    f"stream ended inside an unterminated event: expected a blank line to "
                    f"dispatch it, found end of stream at byte {self.bytes_seen}; discarded "
                    f"{count} data line(s) from line {self._data_line} on, "
                    f"{len(text.encode())} bytes of data: {_preview(text)}",
                )
            )
        if self._utf8_suppressed:
            self.issues.append(
                FramingIssue(
                    self.bytes_seen,
                    self._line_no,
                    f"{self._utf8_suppressed} further invalid UTF-8 sequence(s) not listed "
                    f"(only the first {_MAX_UTF8_ISSUES} are)",
                )
            )
        return []

    def _prologue(self, chunk: bytes) -> bytes:
        """Handle the stream's start (BOM), the LF of a split CRLF, and use after close()."""
        if self._closed:
            self.bytes_seen -= len(chunk)
            raise RuntimeError("feed() called after close()")
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                self._line_off += 1
                chunk = chunk[1:]
        if self._bom_pending and chunk:
            chunk = self._strip_bom(chunk)
        self._unusual = self._bom_pending or self._skip_lf
        return chunk

    def _strip_bom(self, chunk: bytes) -> bytes:
        """Drop a leading BOM, buffering the stream's first bytes until it is decided."""
        head = self._partial + chunk
        if len(head) < 3 and _BOM.startswith(head):
            self._partial = head
            return b""
        self._bom_pending = False
        self._partial = b""
        if head.startswith(_BOM):
            self._line_off += 3
            return head[3:]
        return head

    def _bad_utf8(self, raw: bytes, off: int, line_no: int) -> str:
        """Report the invalid UTF-8 in `raw` (starting line `line_no` at `off`); decode it."""
        self._find_invalid_utf8(raw, off, line_no)
        return raw.decode("utf-8", "replace")

    def _find_invalid_utf8(self, region: bytes, off: int, line_no: int) -> None:
        """Report each invalid UTF-8 sequence in `region`, which starts a line at `off`."""
        parts = _EOL.split(region)
        for i in range(0, len(parts), 2):
            line = parts[i]
            if not line.isascii():
                self._scan_line(line, off, line_no + i // 2)
            off += len(line) + (len(parts[i + 1]) if i + 1 < len(parts) else 0)

    def _scan_line(self, raw: bytes, off: int, line_no: int) -> None:
        view = memoryview(raw)
        spans: list[tuple[int, int]] = []
        pos = 0
        while pos < len(raw):
            try:
                codecs.utf_8_decode(view[pos:], "strict", True)
                break
            except UnicodeDecodeError as exc:
                s, e = pos + exc.start, pos + exc.end
                # Adjacent bad sequences (b"\xff\xfe") read better as one issue.
                if spans and spans[-1][1] == s:
                    spans[-1] = (spans[-1][0], e)
                else:
                    spans.append((s, e))
                pos = e
        for s, e in spans:
            if self._utf8_reported >= _MAX_UTF8_ISSUES:
                self._utf8_suppressed += 1
                continue
            self._utf8_reported += 1
            self.issues.append(
                FramingIssue(
                    off + s,
                    line_no,
                    f"invalid UTF-8 at byte {off + s} (line {line_no}): {_preview(raw[s:e])}",
                )
            )


def read_events(chunks: Iterable[bytes]) -> tuple[list[Event], list[FramingIssue]]:
    """Feed every chunk, close, and return all events and framing issues."""
    reader = EventStreamReader()
    events: list[Event] = []
    for chunk in chunks:
        events.extend(reader.feed(chunk))
    reader.close()
    return events, reader.issues
