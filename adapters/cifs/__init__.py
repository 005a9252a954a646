"""Kernel CIFS mounts of `//host/share` shares (CifsMount), for LocalDirFileShare to use."""
