"""Scheduled: publishes the content outbox rows that their writers could not."""

from inkwell.relay import handler_for

handler = handler_for("content")
