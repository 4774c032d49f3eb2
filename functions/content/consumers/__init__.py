"""The content event consumers: one module per wiring.CONSUMERS entry."""
