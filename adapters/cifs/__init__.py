"""Kernel CIFS mounts of `//host/share` shares, and the factory that picks a CIFS driver."""
