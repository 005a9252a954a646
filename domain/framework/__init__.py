"""The state-machine framework every job is built from (SPEC section 3)."""
