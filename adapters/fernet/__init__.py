"""The Fernet adapter: the key file and the cipher of command-line secrets."""
