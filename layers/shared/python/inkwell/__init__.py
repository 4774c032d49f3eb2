"""Inkwell's shared Lambda layer: cross-cutting code every function uses.

Modules are imported individually so that each function pays only for what it uses
(the authorizer, for instance, never imports FastAPI or the database driver).
"""
