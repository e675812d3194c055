"""Differential checks: pairs of requests that differ in one thing, and what must follow.

One answer alone cannot show that usage counts what it says: a gateway that reports a
fixed prompt_tokens, or counts a streamed request differently, passes every check of one
answer. Two answers side by side show it.
"""

from __future__ import annotations

import pytest

from conformance.contract.cases import CHAT
from conformance.contract.streams import chunks_of, int_usage, usages_of
from conformance.spec import payloads

PROMPT = "Say OK. (counted twice)"
EARLIER_TURNS = [
    {"role": "user", "content": "Remember the number 7."},
    {"role": "assistant", "content": "I will remember 7."},
]


def _usage(exchange):
    body = exchange.json_or_none() if 200 <= exchange.status < 300 else None
    usage = body.get("usage") if isinstance(body, dict) else None
    if not int_usage(usage):
        pytest.skip(f"no integer usage in the answer (HTTP {exchange.status}); CHAT-06 judges it")
    return usage


@pytest.mark.requirement("CHAT-28")
@pytest.mark.family("differential")
def test_longer_prompt_counts_more(apex, chat_model):
    short = payloads.chat(chat_model, PROMPT)
    longer = {**short, "messages": [short["messages"][0], *EARLIER_TURNS, short["messages"][1]]}
    counted = _usage(apex.call("POST", CHAT, json_body=short))["prompt_tokens"]
    more = _usage(apex.call("POST", CHAT, json_body=longer))["prompt_tokens"]
    assert more > counted, (
        f"two more messages in the prompt, and prompt_tokens is {more}, not above the "
        f"{counted} of the same request without them: prompt_tokens does not count the prompt"
    )


@pytest.mark.requirement("CHAT-28")
@pytest.mark.family("differential")
def test_stream_counts_the_prompt_alike(apex, chat_model):
    body = payloads.chat(chat_model, PROMPT)
    plain = _usage(apex.call("POST", CHAT, json_body=body))["prompt_tokens"]
    # stream_options is OpenAI's, not the document's: without a usage chunk, nothing to compare.
    streamed = apex.stream(
        CHAT, {**body, "stream": True, "stream_options": {"include_usage": True}}
    )
    usages = [u for u in usages_of(chunks_of(streamed)) if int_usage(u)]
    if not usages:
        pytest.skip("the stream carried no usage to compare (SSE-13 judges that)")
    counted = usages[-1]["prompt_tokens"]
    assert counted == plain, (
        f"the same request counts prompt_tokens {plain} as JSON and {counted} streamed"
    )
