"""Userspace SMB access to `//host/share` shares through smbprotocol (no mount, no root)."""
