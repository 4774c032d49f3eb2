"""The single declaration of how Inkwell is wired.

Every Lambda function, every HTTP route (method, path, auth, throttling, sizing and the AWS
access it needs), every event type and every event subscription (event types -> consumer
function) is declared here, once. The CDK app, the local gateway, the local event bus, the
OpenAPI document, the sample events and the tests all read this module; nothing is wired
twice.

This module is plain data with no third-party imports (only the shared layer's constants):
it is shipped inside every function's code asset and imported on cold start by the
function's handler module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

# The API's path prefix and the headers every answer shares are the shared layer's (the
# HTTP adapter answers with them): re-exported here for the CDK app and the local gateway.
from inkwell.web import (  # noqa: F401 (re-exported)
    API_PREFIX,
    CORS_ALLOW_HEADERS,
    CORS_EXPOSE_HEADERS,
    CORS_MAX_AGE_S,
    NO_STORE,
    SECURITY_HEADERS,
)

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
# required: the authorizer must accept a bearer token, or the gateway answers 401.
# optional: anonymous callers pass; a token that is present must be valid (else 401).
# none: the authorizer is not run (health checks).
Auth = Literal["required", "optional", "none"]


class Access(StrEnum):
    """What a function may reach on AWS. CDK turns each into the narrowest IAM grant."""

    # Its own domain's database, as the domain's application user (the maintenance
    # function: as its owner), through IAM database authentication and its network path.
    DATABASE = "database"
    SIGNING_KEY = "signing-key"  # reads the JWT private keys (functions that issue tokens)
    VERIFY_KEY = "verify-key"  # the JWT public keys, in its environment (no AWS access)
    SIGNING_KEY_ADMIN = "signing-key-admin"  # writes the JWT private keys (key rotation)
    EVENTS = "events"  # PutEvents on the Inkwell bus (functions that write to an outbox)
    EMAIL = "email"  # sends email through SES (when the deployment enables it)


@dataclass(frozen=True)
class Throttle:
    """API Gateway method throttling: steady requests per second and burst size."""

    rate: float
    burst: int


DEFAULT_THROTTLE = Throttle(rate=50, burst=100)
# Routes that take credentials: per-route throttling here, per-client limits in WAF.
CREDENTIALS_THROTTLE = Throttle(rate=10, burst=20)


@dataclass(frozen=True)
class Function:
    """A Lambda function. `handler` is the dotted path Lambda calls: module.attribute."""

    name: str
    handler: str
    access: frozenset[Access] = frozenset()
    memory_mb: int = 512
    timeout_s: int = 10
    description: str = ""

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def domain(self) -> str:
        """The code package the function lives in (users, content, authorizer, ...)."""
        return self.handler.split(".", 1)[0]


@dataclass(frozen=True)
class Route(Function):
    """A Lambda function serving one HTTP operation."""

    method: Method = "GET"
    path: str = "/"
    auth: Auth = "required"
    throttle: Throttle = DEFAULT_THROTTLE
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Consumer(Function):
    """A Lambda function subscribed by an EventBridge rule to one or more event types.

    Failed invocations are retried `max_retries` times (Lambda asynchronous invocation),
    then the event goes to the consumer's dead-letter queue.
    """

    events: tuple[str, ...] = ()
    max_retries: int = 2
    max_event_age_s: int = 3600

    def pattern(self) -> dict[str, list[str]]:
        """The EventBridge rule's event pattern."""
        return {
            "source": sorted({f"inkwell.{EVENT_TYPES[t]}" for t in self.events}),
            "detail-type": list(self.events),
        }


@dataclass(frozen=True)
class Scheduled(Function):
    """A function run on a schedule (EventBridge Scheduler on AWS, a timer locally)."""

    schedule_minutes: int = 1


# Every event type and the domain that publishes it (source = inkwell.<domain>).
EVENT_TYPES: dict[str, str] = {
    "user.registered": "users",
    "user.updated": "users",
    "user.role_changed": "users",
    "user.deactivated": "users",
    "user.followed": "users",
    "user.unfollowed": "users",
    "post.created": "content",
    "post.updated": "content",
    "post.published": "content",
    "post.unpublished": "content",
    "post.deleted": "content",
    "comment.created": "comments",
    "comment.approved": "comments",
    "comment.rejected": "comments",
    "comment.deleted": "comments",
    "comment.reported": "comments",
    "notification.created": "comments",
}

DB = frozenset({Access.DATABASE})
DB_AND_KEY = frozenset({Access.DATABASE, Access.SIGNING_KEY})
DB_AND_EVENTS = frozenset({Access.DATABASE, Access.EVENTS})


def _route(
    domain: str,
    name: str,
    method: Method,
    path: str,
    auth: Auth,
    description: str,
    *,
    access: frozenset[Access] = DB,
    throttle: Throttle = DEFAULT_THROTTLE,
    memory_mb: int = 512,
) -> Route:
    """A route of `domain` served by module `<domain>.routes.<name>`; `path` below API_PREFIX."""
    return Route(
        name=f"{domain}-{name.replace('_', '-')}",
        handler=f"{domain}.routes.{name}.handler",
        method=method,
        path=f"{API_PREFIX}{path}",
        auth=auth,
        description=description,
        access=access,
        throttle=throttle,
        memory_mb=memory_mb,
        tags=(domain,),
    )


def _users(
    name: str, method: Method, path: str, auth: Auth, description: str, **options: Any
) -> Route:
    return _route("users", name, method, f"/users{path}", auth, description, **options)


# bcrypt is CPU bound: Lambda CPU scales with memory, so password routes get more.
_BCRYPT_MEMORY = 1024


def _content(
    name: str, method: Method, path: str, auth: Auth, description: str, **options: Any
) -> Route:
    return _route("content", name, method, path, auth, description, **options)


# API Gateway needs one name for sibling path variables: {id} is a post's id everywhere,
# and on GET /posts/{id} an id or a slug.
CONTENT_ROUTES: tuple[Route, ...] = (
    _content(
        "create_post", "POST", "/posts", "required", "Write a new draft post.", access=DB_AND_EVENTS
    ),
    _content(
        "list_posts",
        "GET",
        "/posts",
        "optional",
        "Published posts, newest first; filter by tag, author (username) or search q.",
    ),
    _content(
        "get_post",
        "GET",
        "/posts/{id}",
        "optional",
        "A post by id or slug (drafts only to their author and admins).",
    ),
    _content(
        "update_post",
        "PATCH",
        "/posts/{id}",
        "required",
        "Edit a post's title, summary, body or tags (author or admin).",
        access=DB_AND_EVENTS,
    ),
    _content(
        "delete_post",
        "DELETE",
        "/posts/{id}",
        "required",
        "Delete a post (author or admin).",
        access=DB_AND_EVENTS,
    ),
    _content(
        "publish_post",
        "POST",
        "/posts/{id}/publish",
        "required",
        "Publish a post now, or schedule it with publishAt (author or admin).",
        access=DB_AND_EVENTS,
    ),
    _content(
        "unpublish_post",
        "POST",
        "/posts/{id}/unpublish",
        "required",
        "Take a post back to draft (author or admin).",
        access=DB_AND_EVENTS,
    ),
    _content(
        "favorite_post", "POST", "/posts/{id}/favorite", "required", "Favorite a published post."
    ),
    _content(
        "unfavorite_post",
        "DELETE",
        "/posts/{id}/favorite",
        "required",
        "Remove a post from the caller's favorites.",
    ),
    _content(
        "list_my_posts",
        "GET",
        "/users/me/posts",
        "required",
        "The caller's own posts in every status; filter by status.",
    ),
    _content(
        "list_tags",
        "GET",
        "/tags",
        "optional",
        "Tags of published posts with how many use each, most used first.",
    ),
    _content(
        "get_feed",
        "GET",
        "/feed",
        "required",
        "Published posts of the authors the caller follows, newest first.",
    ),
)


def _comments(
    name: str, method: Method, path: str, auth: Auth, description: str, **options: Any
) -> Route:
    return _route("comments", name, method, path, auth, description, **options)


# Comments of a post live under the post's path, where API Gateway names the variable {id}.
COMMENTS_ROUTES: tuple[Route, ...] = (
    _comments(
        "create_comment",
        "POST",
        "/posts/{id}/comments",
        "required",
        "Comment on a published post, or reply to a comment with parentId.",
        access=DB_AND_EVENTS,
    ),
    _comments(
        "list_comments",
        "GET",
        "/posts/{id}/comments",
        "optional",
        "A published post's visible comments, oldest first, replies under their parent.",
    ),
    _comments(
        "update_comment",
        "PATCH",
        "/comments/{id}",
        "required",
        "Edit one's own comment within 15 minutes of posting it.",
    ),
    _comments(
        "delete_comment",
        "DELETE",
        "/comments/{id}",
        "required",
        "Delete a comment (its author, the post's author, a moderator or an admin).",
        access=DB_AND_EVENTS,
    ),
    _comments(
        "moderation_queue",
        "GET",
        "/comments/moderation",
        "required",
        "Comments waiting for a decision: all of them for moderators, those on "
        "one's own posts for authors.",
    ),
    _comments(
        "moderate_comment",
        "POST",
        "/comments/{id}/moderate",
        "required",
        "Approve, reject or mark as spam a comment (moderator, admin, post author).",
        access=DB_AND_EVENTS,
    ),
    _comments(
        "report_comment",
        "POST",
        "/comments/{id}/report",
        "required",
        "Flag a comment; enough reports send it back to the moderation queue.",
        access=DB_AND_EVENTS,
    ),
    _comments(
        "list_notifications",
        "GET",
        "/notifications",
        "required",
        "The caller's notifications, newest first, with the unread count.",
    ),
    _comments(
        "mark_notifications_read",
        "POST",
        "/notifications/read",
        "required",
        "Mark some (ids) or all of the caller's notifications as read.",
    ),
)

ROUTES: tuple[Route, ...] = (
    Route(
        name="health",
        handler="health.handler.handler",
        method="GET",
        path="/health",
        auth="none",
        description="Liveness check.",
        memory_mb=256,
        tags=("platform",),
    ),
    _users(
        "register",
        "POST",
        "/register",
        "optional",
        "Register a new user.",
        access=DB_AND_EVENTS,
        throttle=CREDENTIALS_THROTTLE,
        memory_mb=_BCRYPT_MEMORY,
    ),
    _users(
        "login",
        "POST",
        "/login",
        "optional",
        "Exchange credentials for tokens.",
        access=DB_AND_KEY,
        throttle=CREDENTIALS_THROTTLE,
        memory_mb=_BCRYPT_MEMORY,
    ),
    _users(
        "refresh",
        "POST",
        "/refresh",
        "optional",
        "Rotate a refresh token for new tokens.",
        access=DB_AND_KEY,
        throttle=CREDENTIALS_THROTTLE,
    ),
    _users(
        "logout",
        "POST",
        "/logout",
        "optional",
        "Revoke a refresh token.",
        throttle=CREDENTIALS_THROTTLE,
    ),
    _users(
        "request_password_reset",
        "POST",
        "/password-reset",
        "optional",
        "Email a single-use password reset token to an account (by username or email); "
        "the same answer whether or not it exists.",
        access=frozenset({Access.DATABASE, Access.EMAIL}),
        throttle=CREDENTIALS_THROTTLE,
    ),
    _users(
        "confirm_password_reset",
        "POST",
        "/password-reset/confirm",
        "optional",
        "Set a new password with a reset token; revokes every refresh token.",
        throttle=CREDENTIALS_THROTTLE,
        memory_mb=_BCRYPT_MEMORY,
    ),
    _users("get_me", "GET", "/me", "required", "The caller's own user, with email."),
    _users("list_users", "GET", "", "required", "All users (admin)."),
    _users("get_user", "GET", "/{id}", "optional", "A user's public profile."),
    _users(
        "update_user",
        "PATCH",
        "/{id}",
        "required",
        "Update a profile (self or admin).",
        access=DB_AND_EVENTS,
    ),
    _users(
        "change_password",
        "PUT",
        "/{id}/password",
        "required",
        "Change the caller's password; revokes refresh tokens.",
        memory_mb=_BCRYPT_MEMORY,
    ),
    _users(
        "change_role",
        "PUT",
        "/{id}/role",
        "required",
        "Set a user's role (admin).",
        access=DB_AND_EVENTS,
    ),
    _users(
        "deactivate_user",
        "DELETE",
        "/{id}",
        "required",
        "Deactivate an account (self or admin).",
        access=DB_AND_EVENTS,
    ),
    _users(
        "follow_user", "POST", "/{id}/follow", "required", "Follow a user.", access=DB_AND_EVENTS
    ),
    _users(
        "unfollow_user",
        "DELETE",
        "/{id}/follow",
        "required",
        "Stop following a user.",
        access=DB_AND_EVENTS,
    ),
    *CONTENT_ROUTES,
    *COMMENTS_ROUTES,
)

AUTHORIZER = Function(
    name="authorizer",
    handler="authorizer.handler.handler",
    access=frozenset({Access.VERIFY_KEY}),
    memory_mb=256,
    timeout_s=5,
    description="Verifies bearer JWTs for API Gateway.",
)

# Creates and rotates the JWT signing keys: the handler of a CloudFormation custom resource
# (on AWS, deploy time only), which writes the private keys to their secret and returns
# the public keys the authorizer gets in its environment.
SIGNING_KEYS = Function(
    name="users-signing-keys",
    handler="users.jobs.signing_keys.handler",
    access=frozenset({Access.SIGNING_KEY_ADMIN}),
    memory_mb=256,
    timeout_s=60,
    description="Creates the JWT signing keys; rotates them when their generation changes.",
)

# One per domain database: applies migrations on deploy and runs admin tasks.
MAINTENANCE: tuple[Function, ...] = (
    Function(
        name="users-maintenance",
        handler="users.jobs.maintenance.handler",
        access=DB_AND_EVENTS,
        timeout_s=120,
        description="Applies users migrations; promotes the first admin.",
    ),
    Function(
        name="content-maintenance",
        handler="content.jobs.maintenance.handler",
        access=DB,
        timeout_s=120,
        description="Applies content migrations.",
    ),
    Function(
        name="comments-maintenance",
        handler="comments.jobs.maintenance.handler",
        access=DB,
        timeout_s=120,
        description="Applies comments migrations.",
    ),
)

CONSUMERS: tuple[Consumer, ...] = (
    Consumer(
        name="users-audit",
        handler="users.consumers.audit.handler",
        access=DB,
        events=("user.registered", "user.updated", "user.role_changed", "user.deactivated"),
        description="Keeps each account's audit trail from the users events.",
    ),
    Consumer(
        name="content-users",
        handler="content.consumers.users_events.handler",
        access=DB,
        events=(
            "user.registered",
            "user.updated",
            "user.role_changed",
            "user.deactivated",
            "user.followed",
            "user.unfollowed",
        ),
        description="Keeps content's read models of authors (names, role, active) and "
        "follows from the users events.",
    ),
    Consumer(
        name="comments-posts",
        handler="comments.consumers.posts_events.handler",
        access=DB,
        events=("post.published", "post.updated", "post.unpublished", "post.deleted"),
        description="Keeps which posts are open for comments; deletes a deleted post's comments.",
    ),
    Consumer(
        name="comments-users",
        handler="comments.consumers.users_events.handler",
        access=DB,
        events=("user.registered", "user.updated", "user.role_changed", "user.deactivated"),
        description="Keeps commenters' names, roles and whether they are active.",
    ),
    Consumer(
        name="comments-notify",
        handler="comments.consumers.notify.handler",
        access=DB_AND_EVENTS,
        events=("comment.created", "comment.approved", "comment.rejected"),
        description="Notifies post authors of comments, commenters of replies and of "
        "moderation decisions.",
    ),
    Consumer(
        name="users-email",
        handler="users.consumers.email.handler",
        access=frozenset({Access.DATABASE, Access.EMAIL}),
        events=("notification.created",),
        description="Emails notifications to their recipients (SES when enabled, else the log).",
    ),
)

# The domains that own a database, in the order their migrations are applied locally.
DATABASE_DOMAINS: tuple[str, ...] = ("users", "content", "comments")


RELAYS: tuple[Scheduled, ...] = tuple(
    Scheduled(
        name=f"{domain}-outbox-relay",
        handler=f"{domain}.jobs.relay.handler",
        access=DB_AND_EVENTS,
        timeout_s=60,
        description=f"Publishes {domain} outbox events that their writers could not.",
    )
    for domain in DATABASE_DOMAINS
)


# Every scheduled function: the outbox relays and the domains' own timers.
SCHEDULED: tuple[Scheduled, ...] = (
    *RELAYS,
    Scheduled(
        name="content-publish-scheduled",
        handler="content.jobs.publish_scheduled.handler",
        access=DB_AND_EVENTS,
        timeout_s=60,
        description="Publishes the scheduled posts whose time has come.",
    ),
)


def all_functions() -> tuple[Function, ...]:
    return (*ROUTES, AUTHORIZER, SIGNING_KEYS, *MAINTENANCE, *CONSUMERS, *SCHEDULED)


def consumers_of(detail_type: str) -> tuple[Consumer, ...]:
    return tuple(c for c in CONSUMERS if detail_type in c.events)


def http_methods(route: Route) -> tuple[str, ...]:
    """The HTTP methods a route answers: a GET route also answers HEAD (the GET answer
    without its body), locally and on API Gateway (a HEAD method on the same function)."""
    return (route.method, "HEAD") if route.method == "GET" else (route.method,)


def cors_allow_methods() -> tuple[str, ...]:
    return tuple(sorted({route.method for route in ROUTES} | {"OPTIONS"}))


def route_by_name(name: str) -> Route:
    for route in ROUTES:
        if route.name == name:
            return route
    raise KeyError(f"no route named {name!r} in wiring.ROUTES")


def route_for_module(module: str) -> Route:
    """The route served by a handler module, e.g. 'users.register'."""
    for route in ROUTES:
        if route.module == module:
            return route
    raise KeyError(f"no route is served by module {module!r} in wiring.ROUTES")
