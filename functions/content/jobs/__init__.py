"""The content functions started by a schedule, a deploy or an operator.

Neither a route nor an event subscription: the outbox relay, the maintenance function
(migrations, admin tasks) and the domain's own timers and custom resources.
"""
