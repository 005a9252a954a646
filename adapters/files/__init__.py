"""File adapters: a local directory as a share, the share opener, and the TOML config file."""
