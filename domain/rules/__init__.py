"""Pure decisions: tiering, naming, retention. The functional core."""
