"""Evidence of a run: its exchanges recorded as HAR, re-judged offline, packed in a bundle."""
