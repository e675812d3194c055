"""Reports: the compliance matrix, the gate, waivers and the diff, all computed from the
checks' records into summary.json; the HTML and terminal reports are rendered from that
summary alone (so `apex-conformance report` re-renders any earlier run).

May import: conformance.vocabulary, conformance.catalogue and
conformance.transport.redact; never the client, the session or the reference.
"""
