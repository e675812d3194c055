"""The pytest session: the plugin's hooks, the run's state, the preflight, the choice of
models, the embedded server, and running the suite in-process. It wires the layers together.

May import: every package of the suite but conformance.cli.
"""
