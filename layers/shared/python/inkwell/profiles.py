"""A domain's read model of users' public profiles, kept from the users events.

Content keeps one (`authors`), comments keeps one (`commenters`): same columns, same rules.
Events arrive at least once and in any order, so every write is conditional on the
ordering key it carries: a row's `version` is the users row's createdAt / updatedAt of
the event that wrote it, an older event never overwrites a newer one, and a row created
from token claims (version '-infinity') is overwritten by the first event about that user.

The read model also keeps each user's role and whether they are active, so that the
domain decides what a caller may do with what it knows now, not with the claims of a token
issued up to its lifetime ago (docs/decisions/authorization-from-read-models.md). The role
has its own ordering key, `role_version` (the users row's createdAt / updatedAt of the
event that set it): profile and role events of one user may arrive in any order.

Table (``<table>``): user_id uuid PRIMARY KEY, username text, first_name text,
last_name text, is_active boolean DEFAULT true, version timestamptz, role text DEFAULT
'user' (NULL: a row older than role tracking), role_version timestamptz DEFAULT
'-infinity'.
"""

from __future__ import annotations

from inkwell import errors
from inkwell.consumers import Consumer, ReceivedEvent
from inkwell.db import Session
from inkwell.event_models import UserDeactivated, UserRegistered, UserRoleChanged, UserUpdated
from inkwell.identity import Principal

# The users events a profile read model follows.


def upsert(
    s: Session,
    table: str,
    *,
    user_id: str,
    username: str,
    first_name: str | None,
    last_name: str | None,
    version: str,
) -> None:
    """A user's display fields as of `version`, unless the row is as new already.

    Leaves is_active alone on an existing row: a deactivation is never undone by a
    profile event (the users domain does not update deactivated accounts).
    """
    s.execute(
        f"INSERT INTO {table} (user_id, username, first_name, last_name, is_active, version)"
        " VALUES (CAST(:user_id AS uuid), :username, :first_name, :last_name, true,"
        "         CAST(:version AS timestamptz))"
        " ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username,"
        "  first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,"
        "  version = EXCLUDED.version"
        f" WHERE {table}.version < EXCLUDED.version",
        user_id=user_id,
        username=username,
        first_name=first_name,
        last_name=last_name,
        version=version,
    )


def deactivate(s: Session, table: str, *, user_id: str, username: str, version: str) -> None:
    """The user is inactive from now on, whatever the order the events arrive in.

    Deactivation is final in the users domain, so it applies even over a row that looks
    newer; the row's version becomes the later of the two, so that a late, older profile
    event cannot rename the user past their deactivation. A user not seen before is
    recorded, inactive, with only the username the event carries.
    """
    s.execute(
        f"INSERT INTO {table} (user_id, username, is_active, version)"
        " VALUES (CAST(:user_id AS uuid), :username, false, CAST(:version AS timestamptz))"
        " ON CONFLICT (user_id) DO UPDATE SET is_active = false,"
        f"  version = GREATEST({table}.version, EXCLUDED.version)",
        user_id=user_id,
        username=username,
        version=version,
    )


def set_role(
    s: Session, table: str, *, user_id: str, username: str, role: str, version: str
) -> None:
    """The user's role as of `version`, unless the row knows a newer one. A user not seen
    before is recorded with only the username; their first profile event fills the rest."""
    s.execute(
        f"INSERT INTO {table} (user_id, username, version, role, role_version)"
        " VALUES (CAST(:user_id AS uuid), :username, '-infinity', :role,"
        "         CAST(:version AS timestamptz))"
        " ON CONFLICT (user_id) DO UPDATE SET role = EXCLUDED.role,"
        "  role_version = EXCLUDED.role_version"
        f" WHERE {table}.role_version < EXCLUDED.role_version",
        user_id=user_id,
        username=username,
        role=role,
        version=version,
    )


def acting(s: Session, table: str, principal: Principal) -> Principal:
    """The caller as this domain knows them now, for a write or a privileged read.

    - deactivated (the users domain said so): 401, whatever the token says;
    - known: the role this domain last heard of (a demoted admin is a user again within
      the event delay); a row from before roles were kept (role NULL) trusts the token;
    - not known yet (their user.registered has not arrived): a plain user, who may do
      their own writes but nothing privileged until the events arrive.
    """
    row = s.row(
        f"SELECT role, is_active FROM {table} WHERE user_id = CAST(:id AS uuid)",
        id=principal.user_id,
    )
    if row is None:
        return Principal(principal.user_id, principal.username, "user")
    if not row["is_active"]:
        raise errors.account_inactive()
    role = row["role"] if row["role"] is not None else principal.role
    return Principal(principal.user_id, principal.username, str(role))


def follow_users(consumer: Consumer, table: str) -> None:
    """Register `consumer`'s effects of the users' profile, role and deactivation events
    on the read model `table`."""

    def profile(s: Session, event: ReceivedEvent[UserRegistered | UserUpdated]) -> None:
        data = event.data
        version = data.created_at if isinstance(data, UserRegistered) else data.updated_at
        upsert(
            s,
            table,
            user_id=data.id,
            username=data.username,
            first_name=data.first_name,
            last_name=data.last_name,
            version=version,
        )
        if isinstance(data, UserRegistered):
            set_role(
                s, table, user_id=data.id, username=data.username, role=data.role, version=version
            )

    def role_changed(s: Session, event: ReceivedEvent[UserRoleChanged]) -> None:
        data = event.data
        set_role(
            s,
            table,
            user_id=data.id,
            username=data.username,
            role=data.role,
            version=data.updated_at,
        )

    def deactivated(s: Session, event: ReceivedEvent[UserDeactivated]) -> None:
        data = event.data
        deactivate(s, table, user_id=data.id, username=data.username, version=data.updated_at)

    consumer.on(UserRegistered, UserUpdated)(profile)
    consumer.on(UserRoleChanged)(role_changed)
    consumer.on(UserDeactivated)(deactivated)
