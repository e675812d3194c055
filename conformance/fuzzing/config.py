"""How much the fuzz tests generate: the schema config and each profile's examples.

Counts and seed depend on the run's options, which are not known when the test module is
imported; `tune` gives them to each operation's Hypothesis test when pytest builds it.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from typing import Literal

import hypothesis
import pytest
import schemathesis
from hypothesis import Phase

from conformance.fuzzing.oracle import CHAT, IMAGES, REQUEST_COMPONENT
from conformance.internals import SETTINGS_ATTRIBUTE, ApiOperationMark, settings_of
from conformance.vocabulary import Profile

# schemathesis filters keys containing these words from reproductions. Its default list has
# "token", which hides `max_tokens` (research: pitfall 4); Authorization stays filtered as an
# exact key and through "auth".
SANITIZED_MARKERS = ["key", "secret", "password", "passwd", "auth", "session", "credential"]
# Where `tune` keeps the settings schemathesis gave a test, before the run's tuning.
_ORIGINAL_SETTINGS = "_apex_original_settings"

Coverage = Literal["none", "sampled", "all"]


@dataclass(frozen=True)
class Examples:
    """What one profile generates per operation (coverage cases come on top of the counts)."""

    negative: int
    positive_chat: int
    positive_images: int
    # The coverage phase sends each documented bound just broken (temperature 3 and -1,
    # five stop sequences, n 0, a size not in the list, ...) plus each wrong JSON type:
    # the cheapest way to hit every MUST. "sampled" keeps every bound and about one in
    # TYPE_SAMPLE wrong-type cases.
    coverage: Coverage

    def count_for(self, label: str, negative: bool) -> int:
        if negative:
            return self.negative if label in REQUEST_COMPONENT else 1
        if label == IMAGES:
            return self.positive_images
        if label == CHAT:
            return self.positive_chat
        return 1  # GET /models takes no input: one request says all there is to say


EXAMPLES: dict[Profile, Examples] = {
    "smoke": Examples(negative=3, positive_chat=2, positive_images=1, coverage="none"),
    # Standard makes no image by fuzzing: the targeted checks already judge one paid answer.
    "standard": Examples(negative=8, positive_chat=8, positive_images=0, coverage="sampled"),
    "full": Examples(negative=100, positive_chat=50, positive_images=5, coverage="all"),
}
TYPE_SAMPLE = 4
# One generated (so almost surely unknown) model id is kept in this many fuzzing cases.
UNKNOWN_MODEL_SHARE = 4


def schema_config(*, negative: bool) -> schemathesis.Config:
    """The schemathesis config of one of the two fuzz tests."""
    return schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "negative" if negative else "positive",
                "database": "none",
                # Auth has its own checks (AUTH-*); the fuzz test always sends the real key.
                "with-security-parameters": False,
            },
            "phases": {
                # Positive boundary cases (every size, temperature 0 and 2, ...) would cost
                # tokens and images; the targeted checks cover those bounds one by one.
                "coverage": {"enabled": negative},
                # The document's request examples are valid requests: positive test only.
                "examples": {"enabled": not negative},
                "stateful": {"enabled": False},
            },
            # GET /models has no input to break: the invalid-input test sends it once, valid
            # ("valid and invalid requests never yield a 5xx").
            "operations": [
                {"include-operation-id": "listModels", "generation": {"mode": "positive"}}
            ],
            "output": {"sanitization": {"sensitive-markers": SANITIZED_MARKERS}},
        }
    )


def tune(metafunc: pytest.Metafunc, *, negative: bool, profile: Profile, seed: int) -> None:
    """Give one operation's Hypothesis test the run's seed and the profile's example count.

    Called from the test module's `pytest_generate_tests`, which schemathesis runs for each
    operation right after it built the test.
    """
    _load_every_suite_module()
    examples = EXAMPLES[profile]
    test = metafunc.function
    operation = ApiOperationMark.get(test)
    label = operation.label if operation is not None else CHAT
    # Start from the settings schemathesis gave the test, not from an earlier run's tuning:
    # the module (and so this function object) outlives a session when pytest runs in-process.
    if not hasattr(test, _ORIGINAL_SETTINGS):
        setattr(test, _ORIGINAL_SETTINGS, settings_of(test))
    current = getattr(test, _ORIGINAL_SETTINGS) or hypothesis.settings()
    dropped = set()
    if negative and examples.coverage == "none":
        dropped.add(Phase.explicit)  # it carries the coverage cases (and schema examples)
    if not negative:
        # Every shrinking step of a valid request is another paid completion or image; the
        # failing case itself is reported either way.
        dropped.add(Phase.shrink)
    tuned = hypothesis.settings(
        current,
        max_examples=max(1, examples.count_for(label, negative)),
        database=None,
        derandomize=False,
        phases=tuple(phase for phase in current.phases if phase not in dropped),
    )
    # Set the way schemathesis itself does (`@settings` refuses a test that already has
    # settings, and pytest may offer the same test twice).
    setattr(test, SETTINGS_ATTRIBUTE, tuned)
    hypothesis.seed(seed)(test)


@cache
def _load_every_suite_module() -> None:
    """Import all of the suite before Hypothesis generates anything.

    Hypothesis mixes into its data the constants of every "local" module loaded so far
    (hypothesis.internal.conjecture.providers), and an editable install makes the suite
    local: a module first imported mid-run (the reports, at the end of it) would change
    what the same seed generates in the next run of the process, and between the planning
    and the judging run of the fuzz cases (conformance.session.planning).
    """
    import conformance

    for module in pkgutil.walk_packages(conformance.__path__, "conformance."):
        if ".contract." not in module.name + ".":  # test modules: pytest imports those
            importlib.import_module(module.name)
