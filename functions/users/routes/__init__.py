"""The users HTTP routes: one module per route, serving its wiring.ROUTES entry."""
