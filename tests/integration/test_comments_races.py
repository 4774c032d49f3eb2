"""Comments changed by several callers at the same moment, through the real service
functions (one thread and database connection each): a reply written while its parent is
deleted, decisions and reports at once. Whatever the interleaving, the answers are the
documented ones and the stored state agrees with them."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from comments import service
from comments.models import (
    Comment,
    CreateCommentRequest,
    ModerateRequest,
    ReportRequest,
    UpdateCommentRequest,
)
from inkwell.identity import Principal
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.comments_support import (
    comment,
    comment_row,
    comments_sql,
    decisions,
    events_since,
    listed,
    outbox,
    settle,
    trust,
)
from tests.integration.support import Account, race, sign_up

ROUNDS = 20


def principal(account: Account, role: str = "user") -> Principal:
    return Principal(account.id, account.username, role)


def test_a_reply_written_while_its_parent_is_deleted_is_never_lost(
    api: Api, alice: Account, bob: Account, post: dict[str, Any], event_bus: LocalEventBus
) -> None:
    """Either the reply is refused (422), or it is kept and the parent with it: as a
    placeholder when the delete went through, intact when the delete was told to retry
    (409). Never a 201 for a reply that the delete then took away with its parent."""
    deleter = principal(alice)
    replier = principal(bob, "moderator")  # never held: the reply is visible at once
    outcomes: set[tuple[Any, ...]] = set()
    for round_ in range(ROUNDS):
        parent = comment(api, alice, post["id"], f"parent {round_}")
        request = CreateCommentRequest.model_validate({"body": "a reply", "parentId": parent["id"]})
        calls: list[Callable[[], Comment | None]] = [
            partial(service.create_comment, post["id"], request, replier),
            partial(service.delete_comment, parent["id"], deleter),
        ]
        outcome = race(calls)
        replies = [r for r in outcome.results if r is not None]
        stored = comment_row(parent["id"])
        if replies:
            (reply,) = replies
            assert comment_row(str(reply.id)) is not None, f"round {round_}: reply lost"
            assert stored is not None
            if outcome.refused == [409]:  # the delete met the reply: nothing deleted
                assert stored["deleted_at"] is None
            else:
                assert outcome.refused == [] and stored["deleted_at"] is not None
            outcomes.add(("replied", tuple(outcome.refused)))
        else:
            assert outcome.refused == [422] and stored is None
            outcomes.add(("refused",))
    settle(event_bus)
    assert outcomes  # (which interleavings happened varies from run to run)
    # Every placeholder left still has its reply under it.
    assert comments_sql(
        "SELECT count(*) AS n FROM comments p WHERE p.deleted_at IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM comments r WHERE r.parent_id = p.id)"
    ) == [{"n": 0}]


def test_concurrent_decisions_are_each_recorded_once_or_refused(
    api: Api, alice: Account, bob: Account, post: dict[str, Any], event_bus: LocalEventBus
) -> None:
    mod = sign_up(api, "moderator1", role="moderator")
    for round_ in range(ROUNDS // 2):
        pending = comment(api, bob, post["id"], f"casino {round_}", status="pending")
        settle(event_bus)
        before = outbox()
        outcome = race(
            [
                partial(
                    service.moderate_comment,
                    pending["id"],
                    ModerateRequest(action="approve"),
                    principal(alice),
                ),
                partial(
                    service.moderate_comment,
                    pending["id"],
                    ModerateRequest(action="spam"),
                    principal(mod, "moderator"),
                ),
            ]
        )
        assert set(outcome.refused) <= {409}
        recorded = decisions(pending["id"])
        assert len(recorded) == len(outcome.results) == 2 - len(outcome.refused)
        final = {"approve": "approved", "spam": "spam"}[recorded[-1]["action"]]
        assert comment_row(pending["id"])["status"] == final  # type: ignore[index]
        assert len(events_since(before)) == len(recorded)


def test_an_edit_never_undoes_a_decision_taken_meanwhile(
    api: Api, alice: Account, bob: Account, post: dict[str, Any]
) -> None:
    """An edit that sends the comment back to the queue (links), and a rejection, at once:
    the last to write is the one the other saw. A rejection answered 200 is never undone by
    an edit that had read the comment before it, and an edit never lands on a placeholder."""
    trust(api, bob, post["id"], alice)
    edit = UpdateCommentRequest(body="see https://a.example https://b.example https://c.example")
    for round_ in range(ROUNDS):
        target = comment(api, bob, post["id"], f"target {round_}", status="approved")
        outcome = race(
            [
                partial(service.update_comment, target["id"], edit, principal(bob)),
                partial(
                    service.moderate_comment,
                    target["id"],
                    ModerateRequest(action="reject"),
                    principal(alice),
                ),
            ]
        )
        assert set(outcome.refused) <= {409}, outcome.refused
        row = comment_row(target["id"])
        assert row is not None
        if len(outcome.results) == 2:  # one after the other: the decision was last
            assert row["status"] == "rejected", f"round {round_}: the rejection was undone"
        elif row["status"] == "pending":
            assert row["body"] == edit.body
        else:
            assert (row["status"], row["body"]) == ("rejected", f"target {round_}")

        # And an edit racing the deletion that leaves a placeholder (it has a reply).
        parent = comment(api, bob, post["id"], f"parent {round_}", status="approved")
        comment(api, alice, post["id"], "a reply", parent_id=parent["id"])
        calls: list[Callable[[], Comment | None]] = [
            partial(service.update_comment, parent["id"], edit, principal(bob)),
            partial(service.delete_comment, parent["id"], principal(alice)),
        ]
        assert set(race(calls).refused) <= {404, 409}
        row = comment_row(parent["id"])
        assert row is not None and row["deleted_at"] is not None and row["body"] is None


def test_a_report_never_undoes_a_decision_taken_meanwhile(
    api: Api, alice: Account, bob: Account, post: dict[str, Any]
) -> None:
    """The report that would send a comment back to the queue, and a rejection, at once: a
    rejection answered 200 stays, whichever order the two were written in."""
    trust(api, bob, post["id"], alice)
    readers = [sign_up(api, f"reader{i}") for i in range(3)]
    for round_ in range(ROUNDS):
        target = comment(api, bob, post["id"], f"target {round_}", status="approved")
        for reader in readers[:2]:
            service.report_comment(target["id"], None, principal(reader))
        calls: list[Callable[[], Comment | None]] = [
            partial(service.report_comment, target["id"], None, principal(readers[2])),
            partial(
                service.moderate_comment,
                target["id"],
                ModerateRequest(action="reject"),
                principal(alice),
            ),
        ]
        outcome = race(calls)
        row = comment_row(target["id"])
        assert row is not None
        if outcome.refused == [409]:  # the report came first: the decision is refused
            assert (row["status"], row["report_count"]) == ("pending", 3)
        else:  # the reader came after the rejection (404: no longer visible to them)
            assert outcome.refused in ([], [404])
            assert row["status"] == "rejected", f"round {round_}: the rejection was undone"


def test_concurrent_reports_count_each_reader_once(
    api: Api, alice: Account, bob: Account, post: dict[str, Any]
) -> None:
    trust(api, bob, post["id"], alice)
    readers = [sign_up(api, f"reader{i}") for i in range(3)]
    for round_ in range(ROUNDS // 4):
        target = comment(api, bob, post["id"], f"target {round_}", status="approved")
        # One reader, many times at once: one report.
        outcome = race(
            [partial(service.report_comment, target["id"], ReportRequest(), principal(readers[0]))]
            * 5
        )
        assert outcome.refused == []
        row = comment_row(target["id"])
        assert row is not None and (row["report_count"], row["status"]) == (1, "approved")
        # Two more readers at once: the third report sends it back to the queue.
        outcome = race(
            [
                partial(
                    service.report_comment,
                    target["id"],
                    ReportRequest(reason="Rude."),
                    principal(r),
                )
                for r in readers[1:]
            ]
        )
        assert outcome.refused == []
        row = comment_row(target["id"])
        assert row is not None and (row["report_count"], row["status"]) == (3, "pending")
        assert target["id"] not in listed(api, post["id"])
