"""OpenPGP through the gpg binary: GpgEncryptor, GpgDecryptor, GpgKeyGenerator and their parts."""
