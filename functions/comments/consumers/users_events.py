"""Consumer: commenters' names and whether they are active, from the users events.

A renamed user's comments show the new name and a deactivated user's comments are hidden,
because comments are shown joined to this read model (inkwell.profiles).
"""

from __future__ import annotations

from inkwell import profiles
from inkwell.consumers import Consumer

consumer = Consumer("comments-users", "comments")
profiles.follow_users(consumer, "commenters")

handler = consumer.handler
