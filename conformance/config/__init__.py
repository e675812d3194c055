"""The run's configuration: the options and their environment variables, the settings
they make, and the target the run points at.

Owns: options.py (the option table), settings.py (Settings), target.py (Target).
May import: conformance.vocabulary.
"""
