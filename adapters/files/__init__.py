"""File adapters: local-directory shares, the share opener, and TOML client configs."""
