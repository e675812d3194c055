"""The HTTP layer: the one client every check uses, recorded exchanges and their
transcripts, the incremental SSE reader, the run's budget, rate and spend, and redaction.

Owns: client.py, exchange.py, sse.py, limits.py, redact.py.
May import: conformance.vocabulary and conformance.config.
"""
