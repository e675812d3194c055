"""The contract checks: one pytest file per API surface, the invalid-request cases and
the assertion helpers they share.

May import: every layer below the session (vocabulary, catalogue, config, transport,
spec), conformance.session's fixtures' types, conformance.fuzzing and report.records.
"""
