"""Implementations of the ports: OS, files, PostgreSQL, gpg, Fernet, Azure, and in-memory ones."""
