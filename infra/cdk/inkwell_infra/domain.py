"""One nested stack per database domain: its database, its functions and what routes
events and schedules to them, its migration trigger and its alarms.

Why nested stacks per domain (docs/decisions/nested-stacks-per-domain.md): a
CloudFormation template holds at most 500 resources, and one template for everything was
at 468. A domain's resources grow with its routes and consumers; split this way, each
template holds one domain, and a new domain is a new template.

**Deploys land in order.** The maintenance function applies the domain's migrations from a
trigger (a custom resource that invokes it synchronously, ``REQUEST_RESPONSE``) after the
database, its security-group rules and the endpoints it needs exist, and again whenever
the function changes. Every other function of the domain with database access (routes,
consumers, relays, schedulers) depends on the trigger, so CloudFormation updates them only
after the migrations succeeded. A failed migration fails the trigger with the function's
error message, which CloudFormation shows as the reason of the failed resource, and the
deploy rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, NestedStack, triggers
from constructs import Construct

import wiring
from infra.cdk.inkwell_infra.database import DomainDatabase
from infra.cdk.inkwell_infra.events import EventRouting, validate_relays
from infra.cdk.inkwell_infra.functions import FunctionGroup, Shared
from infra.cdk.inkwell_infra.keys import SigningKeys
from infra.cdk.inkwell_infra.monitoring import DomainAlarms

# The trigger waits this much longer than the maintenance function may run.
TRIGGER_MARGIN_S = 30


def construct_id(name: str) -> str:
    """``users`` -> ``Users``, ``users-maintenance`` -> ``UsersMaintenance``."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def maintenance_of(domain: str) -> wiring.Function:
    """The domain's one maintenance function (it applies the migrations on deploy)."""
    found = [m for m in wiring.MAINTENANCE if m.domain == domain]
    if len(found) != 1:
        raise ValueError(
            f"database domain {domain!r} needs exactly one maintenance function in "
            f"wiring.MAINTENANCE (it applies the migrations), found {len(found)}"
        )
    if wiring.Access.DATABASE not in found[0].access:
        raise ValueError(f"{found[0].name} must declare Access.DATABASE")
    return found[0]


def waits_for_migrations(function: wiring.Function) -> bool:
    """Updated only after the domain's migrations: every database user but maintenance."""
    return wiring.Access.DATABASE in function.access and function not in wiring.MAINTENANCE


class DomainStack(NestedStack):
    """Everything of one database domain."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain: str,
        shared: Shared,
        functions: Sequence[wiring.Function],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        config = shared.config
        self.domain = domain
        # Everything under a construct named after the domain, so logical ids start with
        # it (``UsersDatabaseInstance...``): the domain templates are alike, and unique ids
        # keep each resource findable in cdk.out, in CloudFormation events and in tests.
        root = Construct(self, construct_id(domain))
        maintenance = maintenance_of(domain)
        self.database = DomainDatabase(
            root, "Database", domain=domain, network=shared.network, config=config
        )
        self.functions = FunctionGroup(
            root, "Functions", shared=shared, functions=functions, database=self.database
        )

        validate_relays(wiring.RELAYS, wiring.SCHEDULED)
        self.events = EventRouting(
            root,
            "Events",
            config=config,
            bus=shared.event_bus,
            functions=self.functions,
            consumers=[f for f in functions if isinstance(f, wiring.Consumer)],
            scheduled=[f for f in functions if isinstance(f, wiring.Scheduled)],
            relays=[r for r in wiring.RELAYS if r.domain == domain],
        )

        handler = self.functions[maintenance.name]
        self.migration_trigger = triggers.Trigger(
            root,
            "MigrationTrigger",
            handler=handler,
            invocation_type=triggers.InvocationType.REQUEST_RESPONSE,
            timeout=Duration.seconds(maintenance.timeout_s + TRIGGER_MARGIN_S),
            execute_after=[
                self.database,
                self.functions.paths,  # the endpoint rules the maintenance function needs
                shared.network.secrets_manager_endpoint,
                shared.network.events_endpoint,
            ],
            execute_on_handler_change=True,
        )
        for function in functions:
            if waits_for_migrations(function):
                self.functions[function.name].node.add_dependency(self.migration_trigger)

        self.signing_keys: SigningKeys | None = None
        if wiring.SIGNING_KEYS in functions:
            self.signing_keys = SigningKeys(
                root,
                "SigningKeys",
                handler=self.functions[wiring.SIGNING_KEYS.name],
                generation=config.jwt_key_generation,
            )

        self.alarms = DomainAlarms(
            root,
            "Alarms",
            config=config,
            domain=domain,
            functions=functions,
            instance_id=f"{config.name_prefix}-{domain}",
            proxy_name=f"{config.name_prefix}-{domain}",
        )
