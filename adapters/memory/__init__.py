"""In-memory adapters, one per port: deterministic, with failure switches, for tests and hosts.

They record outcomes (files, lines, exit codes), never calls.
"""
