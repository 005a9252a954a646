"""The jobs' state machines."""
