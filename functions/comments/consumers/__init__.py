"""The comments event consumers: one module per wiring.CONSUMERS entry."""
