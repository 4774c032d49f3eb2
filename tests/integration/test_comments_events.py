"""The comment.* events as the comments domain writes and publishes them: each written with
its change, valid against events/schemas, published to the bus after commit, carrying what
consumers need of a comment and never its text."""

from __future__ import annotations

import json

from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.comments_support import (
    COMMENT_EVENTS,
    comment,
    comment_path,
    events_since,
    moderate,
    open_post,
    outbox,
    settle,
)
from tests.integration.events_support import BusWatch
from tests.integration.support import Account, sign_up

SECRET = "Jabberwocky-frumious-bandersnatch"


def test_every_comment_event_is_valid_published_and_without_the_text(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus
) -> None:
    post = open_post(api, event_bus, alice)
    mod = sign_up(api, "mod", role="moderator")
    readers = [sign_up(api, name) for name in ("carol", "dave", "erin")]
    settle(event_bus)
    before = outbox()
    watch = BusWatch(event_bus)

    first = comment(api, bob, post["id"], f"{SECRET} one", status="pending")
    moderate(api, mod, first["id"], "approve", "Welcome.")
    second = comment(api, bob, post["id"], f"{SECRET} two", status="approved")
    reply = comment(api, alice, post["id"], f"{SECRET} three", parent_id=second["id"])
    for reader in readers:
        assert (
            api.call(
                "POST",
                comment_path(second["id"], "report"),
                {"reason": f"{SECRET} reason"},
                token=reader.token,
            ).status
            == 204
        )
    moderate(api, mod, second["id"], "spam", "Spam.")
    assert api.call("DELETE", comment_path(reply["id"]), token=alice.token).status == 204
    settle(event_bus)

    written = events_since(before)  # each validated against its schema
    assert [(e["detail_type"], e["detail"]["data"]["id"]) for e in written] == [
        ("comment.created", first["id"]),
        ("comment.approved", first["id"]),
        ("comment.created", second["id"]),
        ("comment.created", reply["id"]),
        ("comment.reported", second["id"]),
        ("comment.reported", second["id"]),
        ("comment.reported", second["id"]),
        ("comment.rejected", second["id"]),
        ("comment.deleted", reply["id"]),
    ]
    assert {e["detail_type"] for e in written} == set(COMMENT_EVENTS)
    for event in written:
        assert SECRET not in json.dumps(event["detail"]), event["detail_type"]
        data = event["detail"]["data"]
        assert (data["postId"], data["postAuthorId"]) == (post["id"], alice.id)
    assert written[1]["detail"]["data"]["reason"] == "Welcome."
    assert written[3]["detail"]["data"]["parentId"] == second["id"]
    assert written[7]["detail"]["data"]["status"] == "spam"
    assert written[8]["detail"]["data"]["deletedBy"] == alice.id

    # Published after commit (none left for the relay), and received by the bus as written.
    assert all(r["published_at"] is not None for r in outbox())
    received = {e["detail"]["eventId"]: e for e in watch.events()}
    for row in written:
        event = received[str(row["event_id"])]
        assert (event["source"], event["detail-type"]) == ("inkwell.comments", row["detail_type"])
        assert event["detail"] == row["detail"]
    assert watch.dead_letters() == []
