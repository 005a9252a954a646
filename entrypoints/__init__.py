"""Thin command-line jobs and the one dependency-injector container that wires them."""
