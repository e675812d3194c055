"""Schemathesis fuzzing of the OpenAPI description, kept cheap and true to the levels.

One job per module: `config` (the schema config and each profile's examples), `shaping`
(which generated cases are sent, and in what shape), `oracle` (the MUST-level checks),
`conversion` (a case's wire request, the client's answer as schemathesis' Response),
`sending` (the Fuzzer, over the suite's one client), `hooks` (record all cases of a test,
then judge them) and `internals` (the libraries' private names it relies on).
"""
