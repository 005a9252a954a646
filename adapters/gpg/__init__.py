"""OpenPGP through the gpg binary: the GpgEncryptor adapter and its parts."""
