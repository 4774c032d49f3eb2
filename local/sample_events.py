"""Sample Lambda events, one per function: ``events/<function-name>.json``, and one
EventBridge event per event type: ``events/bus/<detail-type>.json`` (what a consumer of
that type receives; they match ``events/schemas/``).

`python -m local.sample_events` (re)writes them; ``--check`` only reports stale ones. They
are built with `local.apigw`, the module the local gateway builds its real events with, and
with fixed ids, times and tokens, so regenerating them is byte-identical and a test can
insist the committed files equal what this module produces now.

Use them with ``make invoke FN=users-register EVENT=events/users-register.json`` (or
``sam local invoke -e``). Routes that need a caller carry the authorizer context the real
authorizer passes (principalId, userId, username, role). The bearer token in the samples is
signed with a throwaway key and long expired: the authorizer samples show its deny path
(TOKEN) and its anonymous allow path (REQUEST without a token).

A new route with a request body needs its sample body in BODIES below; routes without a
body get a sample without anything to add (a POST, PUT or PATCH without one is named in
WITHOUT_BODY).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

import wiring
from local import apigw
from local.bus import scheduled_event

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"

# Fixed values: the samples must not change unless the code that shapes them does.
REQUEST_EPOCH_S = 1_736_933_400  # 2025-01-15T09:30:00Z
REQUEST_TIME = "15/Jan/2025:09:30:00 +0000"
SOURCE_IP = "203.0.113.10"  # TEST-NET-3: documentation addresses
HOST = f"{apigw.API_ID}.execute-api.{apigw.REGION}.amazonaws.com"
ALICE_ID = "3f1c2b9e-8d4a-4c6e-9b1a-2d5e7f8a9b0c"
ADMIN_ID = "0b7e4f2a-6c1d-4e8b-a3f5-9d2c1b0a8e7f"
POST_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
POST_SLUG = "down-the-rabbit-hole"
PASSWORD = "correct horse battery staple"
REFRESH_TOKEN = "kW3x9Qm2pL7vR4tY8nB1cF6hJ0dS5gA2eZ-Uo_iXqPw"
_THROWAWAY_KEY = "sample-events-throwaway-signing-key-not-used-anywhere"
_SAMPLE_NAMESPACE = uuid.UUID("6f6b8a52-8f0e-4a8e-9c1e-1d8f3f2b7a10")
COMMENT_ID = str(uuid.uuid5(_SAMPLE_NAMESPACE, "comment"))

Caller = Mapping[str, str]


def _identity(user_id: str, username: str, role: str) -> dict[str, str]:
    # What apigw.authorizer_context makes of the real authorizer's answer.
    return {"principalId": user_id, "userId": user_id, "username": username, "role": role}


ALICE = _identity(ALICE_ID, "alice", "user")
ADMIN = _identity(ADMIN_ID, "admin", "admin")
ANONYMOUS = {"principalId": "anonymous"}


def sample_token(caller: Caller = ALICE) -> str:
    """A well-formed access token, expired and signed with a key no environment uses."""
    claims = {
        "iss": "inkwell",
        "aud": "inkwell-api",
        "sub": caller["userId"],
        "username": caller["username"],
        "role": caller["role"],
        "iat": REQUEST_EPOCH_S,
        "exp": REQUEST_EPOCH_S + 900,
    }
    return jwt.encode(claims, _THROWAWAY_KEY, algorithm="HS256")


@dataclass(frozen=True)
class Sample:
    """How one route's sample request differs from a plain request to it."""

    body: dict[str, Any] | None = None
    caller: Caller | None = None  # None: by route.auth (user / anonymous / no authorizer)
    path_parameters: dict[str, str] = field(default_factory=dict)
    query: dict[str, list[str]] = field(default_factory=dict)


BODIES: dict[str, Sample] = {
    "users-register": Sample(
        body={
            "username": "alice",
            "email": "alice@example.com",
            "password": PASSWORD,
            "firstName": "Alice",
            "lastName": "Liddell",
            "bio": "Writes about rabbit holes.",
        }
    ),
    "users-login": Sample(body={"username": "alice", "password": PASSWORD}),
    "users-refresh": Sample(body={"refreshToken": REFRESH_TOKEN}),
    "users-request-password-reset": Sample(body={"username": "alice@example.com"}),
    "users-confirm-password-reset": Sample(
        body={
            "token": REFRESH_TOKEN,
            "newPassword": "a longer passphrase, twice as strong",
        }
    ),
    "users-logout": Sample(body={"refreshToken": REFRESH_TOKEN}),
    "users-update-user": Sample(body={"firstName": "Alice", "bio": "Now through the glass."}),
    "users-change-password": Sample(
        body={
            "currentPassword": PASSWORD,
            "newPassword": "a longer passphrase, twice as strong",
        }
    ),
    "users-change-role": Sample(body={"role": "moderator"}, caller=ADMIN),
    "users-list-users": Sample(caller=ADMIN, query={"limit": ["20"]}),
    # Alice follows (unfollows) the admin: no body, and not herself.
    "users-follow-user": Sample(path_parameters={"id": ADMIN_ID}),
    "users-unfollow-user": Sample(path_parameters={"id": ADMIN_ID}),
    # Content: Alice's post; GET /posts/{id} takes an id or a slug.
    "content-create-post": Sample(
        body={
            "title": "Down the Rabbit Hole",
            "summary": "How it all began.",
            "body": "Alice was beginning to get very tired of sitting by her sister...",
            "tags": ["Wonderland", "rabbits"],
        }
    ),
    "content-list-posts": Sample(query={"tag": ["wonderland"], "limit": ["20"]}),
    "content-get-post": Sample(path_parameters={"id": POST_SLUG}),
    "content-update-post": Sample(
        body={"summary": "How it all began, and why.", "tags": ["wonderland", "rabbits", "tea"]},
        path_parameters={"id": POST_ID},
    ),
    "content-delete-post": Sample(path_parameters={"id": POST_ID}),
    "content-publish-post": Sample(
        body={"publishAt": "2099-01-16T08:00:00Z"}, path_parameters={"id": POST_ID}
    ),
    "content-unpublish-post": Sample(path_parameters={"id": POST_ID}),
    "content-favorite-post": Sample(path_parameters={"id": POST_ID}),
    "content-unfavorite-post": Sample(path_parameters={"id": POST_ID}),
    "content-list-my-posts": Sample(query={"status": ["draft"]}),
    # Comments: Alice comments on her post, the admin moderates; {id} is the post's id
    # under /posts and the comment's id under /comments.
    "comments-create-comment": Sample(
        body={"body": "Curiouser and curiouser!"}, path_parameters={"id": POST_ID}
    ),
    "comments-list-comments": Sample(path_parameters={"id": POST_ID}, query={"limit": ["20"]}),
    "comments-update-comment": Sample(
        body={"body": "Curiouser and curiouser, she cried."}, path_parameters={"id": COMMENT_ID}
    ),
    "comments-delete-comment": Sample(path_parameters={"id": COMMENT_ID}),
    "comments-moderation-queue": Sample(caller=ADMIN),
    "comments-moderate-comment": Sample(
        body={"action": "approve"}, caller=ADMIN, path_parameters={"id": COMMENT_ID}
    ),
    "comments-report-comment": Sample(
        body={"reason": "Off topic."}, path_parameters={"id": COMMENT_ID}
    ),
    "comments-mark-notifications-read": Sample(body={"ids": [COMMENT_ID]}),
}

_BODY_METHODS = ("POST", "PUT", "PATCH")
# POST/PUT/PATCH routes that take no request body (actions on the resource in the path).
WITHOUT_BODY: frozenset[str] = frozenset(
    {
        "users-follow-user",
        "content-unpublish-post",
        "content-favorite-post",
    }
)


def takes_body(route: wiring.Route) -> bool:
    """Whether the route's operation reads a JSON request body."""
    return route.method in _BODY_METHODS and route.name not in WITHOUT_BODY


def request_id(name: str) -> str:
    return str(uuid.uuid5(_SAMPLE_NAMESPACE, name))


def _default_caller(route: wiring.Route) -> Caller | None:
    if route.auth == "required":
        return ALICE
    if route.auth == "optional":
        return ANONYMOUS
    return None  # the authorizer is not run: API Gateway passes no authorizer context


def _path(route: wiring.Route, parameters: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    values: dict[str, str] = {}
    segments = []
    for segment in route.path.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            values[name] = parameters.get(name, ALICE_ID)
            segment = values[name]
        segments.append(segment)
    return "/".join(segments), values


def route_event(route: wiring.Route) -> dict[str, Any]:
    sample = BODIES.get(route.name, Sample())
    if takes_body(route) and sample.body is None:
        raise KeyError(f"route {route.name} takes a body: add its sample to BODIES in {__name__}")
    caller = sample.caller or _default_caller(route)
    headers = {
        "Accept": ["application/json"],
        "Host": [HOST],
        "User-Agent": ["curl/8.5.0"],
        "X-Forwarded-For": [SOURCE_IP],
        "X-Forwarded-Port": ["443"],
        "X-Forwarded-Proto": ["https"],
    }
    if sample.body is not None:
        headers["Content-Type"] = ["application/json"]
    if caller is not None and "userId" in caller:
        # API Gateway passes the header on to the function, next to the authorizer context.
        headers["Authorization"] = [f"Bearer {sample_token(caller)}"]
    path, parameters = _path(route, sample.path_parameters)
    event = apigw.request_event(
        route,
        path,
        headers=headers,
        query=sample.query,
        body=json.dumps(sample.body).encode() if sample.body is not None else None,
        path_parameters=parameters,
        authorizer=caller,
        request_id=request_id(route.name),
        source_ip=SOURCE_IP,
    )
    return _fix_time(event)


def _fix_time(event: dict[str, Any]) -> dict[str, Any]:
    # apigw stamps the current time; samples must not change from one run to the next.
    context = event["requestContext"]
    context["requestTime"] = REQUEST_TIME
    context["requestTimeEpoch"] = REQUEST_EPOCH_S * 1000
    return event


def authorizer_token_event() -> dict[str, Any]:
    """TOKEN: what API Gateway sends for a route that requires a caller (here GET /me)."""
    route = wiring.route_by_name("users-get-me")
    return apigw.authorizer_event(route, route_event(route))


def authorizer_request_event() -> dict[str, Any]:
    """REQUEST: a route open to anonymous callers (GET /users/{id}), without a token."""
    route = wiring.route_by_name("users-get-user")
    request = route_event(route)
    request["requestContext"]["authorizer"] = None  # the authorizer has not run yet
    return apigw.authorizer_event(route, request)


# What every comment.* event says of the comment: the admin's comment on Alice's post.
_COMMENT: dict[str, Any] = {
    "id": COMMENT_ID,
    "postId": POST_ID,
    "postAuthorId": ALICE_ID,
    "parentId": None,
    "authorId": ADMIN_ID,
    "createdAt": "2025-01-16T08:05:00.000000Z",
}

# The data of each event type's sample, as the domains' repositories write it.
EVENT_DATA: dict[str, dict[str, Any]] = {
    "user.registered": {
        "id": ALICE_ID,
        "username": "alice",
        "firstName": "Alice",
        "lastName": "Liddell",
        "bio": "Curiouser and curiouser.",
        "role": "user",
        "createdAt": "2025-01-15T09:30:00.000000Z",
    },
    "user.updated": {
        "id": ALICE_ID,
        "username": "alice",
        "firstName": "Alice",
        "lastName": "Liddell",
        "bio": "Down the rabbit hole.",
        "updatedAt": "2025-01-15T09:31:00.000000Z",
    },
    "user.role_changed": {
        "id": ALICE_ID,
        "username": "alice",
        "role": "moderator",
        "updatedAt": "2025-01-15T09:32:00.000000Z",
    },
    "user.deactivated": {
        "id": ALICE_ID,
        "username": "alice",
        "updatedAt": "2025-01-15T09:33:00.000000Z",
    },
    "user.followed": {"followerId": ALICE_ID, "followeeId": ADMIN_ID},
    "user.unfollowed": {"followerId": ALICE_ID, "followeeId": ADMIN_ID},
    "post.created": {
        "id": POST_ID,
        "slug": POST_SLUG,
        "title": "Down the Rabbit Hole",
        "authorId": ALICE_ID,
        "status": "draft",
        "publishedAt": None,
    },
    "post.updated": {
        "id": POST_ID,
        "slug": POST_SLUG,
        "title": "Down the Rabbit Hole",
        "authorId": ALICE_ID,
        "status": "scheduled",
        "publishedAt": None,
    },
    "post.published": {
        "id": POST_ID,
        "slug": POST_SLUG,
        "title": "Down the Rabbit Hole",
        "authorId": ALICE_ID,
        "status": "published",
        "publishedAt": "2025-01-16T08:00:00.000000Z",
    },
    "post.unpublished": {
        "id": POST_ID,
        "slug": POST_SLUG,
        "title": "Down the Rabbit Hole",
        "authorId": ALICE_ID,
        "status": "draft",
        "publishedAt": None,
    },
    "post.deleted": {
        "id": POST_ID,
        "slug": POST_SLUG,
        "title": "Down the Rabbit Hole",
        "authorId": ALICE_ID,
        "status": "published",
        "publishedAt": "2025-01-16T08:00:00.000000Z",
    },
    "comment.created": {**_COMMENT, "status": "approved"},
    "comment.approved": {
        **_COMMENT,
        "status": "approved",
        "action": "approve",
        "reason": None,
        "moderatorId": ADMIN_ID,
    },
    "comment.rejected": {
        **_COMMENT,
        "status": "spam",
        "action": "spam",
        "reason": "Selling rabbit-hole insurance.",
        "moderatorId": ADMIN_ID,
    },
    "comment.deleted": {**_COMMENT, "status": "approved", "deletedBy": ALICE_ID},
    "comment.reported": {**_COMMENT, "status": "pending", "reportCount": 3},
    # Alice is told of a comment on her post; users-email looks up her address.
    "notification.created": {
        "id": str(uuid.uuid5(_SAMPLE_NAMESPACE, "notification")),
        "recipientId": ALICE_ID,
        "kind": "comment",
        "subject": 'New comment on "Down the Rabbit Hole"',
        "text": 'admin commented on your post "Down the Rabbit Hole":\n\n'
        "Curiouser and curiouser! Where does the hole lead?",
        "postId": POST_ID,
        "commentId": COMMENT_ID,
        "createdAt": "2025-01-16T08:05:00.000000Z",
    },
}


def bus_event(detail_type: str) -> dict[str, Any]:
    """The EventBridge event a consumer of `detail_type` receives."""
    if detail_type not in EVENT_DATA:
        raise KeyError(f"no sample data for event type {detail_type}: add it to EVENT_DATA")
    return {
        "version": "0",
        "id": str(uuid.uuid5(_SAMPLE_NAMESPACE, f"bus:{detail_type}")),
        "detail-type": detail_type,
        "source": f"inkwell.{wiring.EVENT_TYPES[detail_type]}",
        "account": apigw.ACCOUNT,
        "time": "2025-01-15T09:30:00Z",
        "region": apigw.REGION,
        "resources": [],
        "detail": {
            "eventId": str(uuid.uuid5(_SAMPLE_NAMESPACE, f"event:{detail_type}")),
            "occurredAt": "2025-01-15T09:30:00.000000Z",
            "correlationId": request_id(detail_type),
            "version": 1,
            "data": EVENT_DATA[detail_type],
        },
    }


def events_for(function: wiring.Function) -> dict[str, dict[str, Any]]:
    """The sample events of one function, by file stem."""
    if isinstance(function, wiring.Route):
        return {function.name: route_event(function)}
    if function == wiring.AUTHORIZER:
        return {
            f"{function.name}-token": authorizer_token_event(),
            f"{function.name}-request": authorizer_request_event(),
        }
    if function in wiring.MAINTENANCE:
        return {function.name: {"action": "migrate"}}
    if function == wiring.SIGNING_KEYS:
        return {function.name: signing_keys_event()}
    if isinstance(function, wiring.Consumer):
        return {f"bus/{detail_type}": bus_event(detail_type) for detail_type in function.events}
    if isinstance(function, wiring.Scheduled):
        return {
            function.name: scheduled_event(
                function,
                event_id=str(uuid.uuid5(_SAMPLE_NAMESPACE, f"schedule:{function.name}")),
                at="2025-01-15T09:30:00Z",
            )
        }
    raise KeyError(f"no sample event for function {function.name}: add one in {__name__}")


def signing_keys_event() -> dict[str, Any]:
    """What the CDK provider framework passes the signing-keys handler on the first deploy
    (a CloudFormation custom-resource Create event)."""
    return {
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/inkwell-dev/1",
        "RequestId": "00000000-0000-4000-8000-000000000001",
        "LogicalResourceId": "SigningKeys",
        "ResourceType": "Custom::InkwellSigningKeys",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
            "Generation": "1",
        },
    }


def render(event: Mapping[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """Every sample file's name and exact content."""
    files: dict[str, str] = {}
    for function in wiring.all_functions():
        for stem, event in events_for(function).items():
            files[f"{stem}.json"] = render(event)
    for detail_type in wiring.EVENT_TYPES:  # published types no consumer takes yet, too
        files[f"bus/{detail_type}.json"] = render(bus_event(detail_type))
    return files


def stale(directory: Path = EVENTS_DIR) -> list[str]:
    """The sample files that are missing or differ from what `generate` produces."""
    found = []
    for name, text in generate().items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            found.append(name)
    return found


def write(directory: Path = EVENTS_DIR) -> list[str]:
    """Write every sample; the names of those that changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = stale(directory)
    for name, text in generate().items():
        if name in changed:
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(text)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.sample_events", description="Write the sample events under events/."
    )
    parser.add_argument(
        "--check", action="store_true", help="only report stale samples (exit 1 when there are any)"
    )
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale()
        for name in outdated:
            print(f"stale: events/{name}")
        return 1 if outdated else 0
    changed = write()
    print(f"{len(generate())} samples in {EVENTS_DIR}, {len(changed)} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
