"""The users event consumers: one module per wiring.CONSUMERS entry."""
