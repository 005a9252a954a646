"""Adapters on the operating system: console, exit, clock, thread pool, flock, log files."""
