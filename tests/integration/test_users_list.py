"""GET /users: the admin list of users, in keyset pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.integration.support import (
    USER_FIELDS,
    USERS,
    Account,
    assert_problem,
    error_fields,
    sign_up,
    sql,
)


def list_page(api: Api, token: str, **query: str) -> dict[str, Any]:
    response = api.call("GET", USERS, token=token, query=query)
    assert response.status == 200, response.body
    body = response.json()
    assert set(body) == {"items", "nextCursor"}
    return dict(body)


def test_list_users_is_admin_only(api: Api, alice: Account) -> None:
    assert_problem(api.call("GET", USERS, token=alice.token), 403)
    moderator = sign_up(api, "mod", role="moderator")
    assert_problem(api.call("GET", USERS, token=moderator.token), 403)
    assert_problem(api.call("GET", USERS), 401)


def test_list_users_default_page(api: Api, admin: Account, alice: Account) -> None:
    body = list_page(api, admin.token)
    assert [u["username"] for u in body["items"]] == ["root_admin", "alice"]
    assert body["nextCursor"] is None
    assert all(set(u) == USER_FIELDS for u in body["items"])
    assert "$2b$" not in str(body)


def test_walk_every_page_without_gaps_or_duplicates(api: Api, admin: Account) -> None:
    for i in range(6):
        api.register(f"user{i}")
    expected = {r["id"] for r in sql("SELECT CAST(id AS text) AS id FROM users")}
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    late: list[str] = []
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = list_page(api, admin.token, **query)
        pages += 1
        assert len(body["items"]) <= 2
        seen.extend(u["id"] for u in body["items"])
        if pages == 2:  # somebody registers between two pages
            late.append(api.register("latecomer")["id"])
        cursor = body["nextCursor"]
        if cursor is None:
            break
        assert len(seen) < 20, "the cursor does not advance"
        assert pages < 20
    assert len(seen) == len(set(seen))  # no duplicates
    assert expected <= set(seen)  # no gaps
    assert set(seen) - expected == set(late)  # the newcomer shows up once, at the end
    assert seen[-1] == late[0]


def test_list_order_is_stable_for_equal_timestamps(api: Api, admin: Account) -> None:
    for i in range(5):
        api.register(f"same{i}")
    sql("UPDATE users SET created_at = '2024-01-01T00:00:00Z'")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        body = list_page(api, admin.token, limit="1", **({"cursor": cursor} if cursor else {}))
        seen.extend(u["id"] for u in body["items"])
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6
    assert seen == sorted(seen)  # ties broken by id


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limit_bounds_accepted(api: Api, admin: Account, limit: str) -> None:
    api.register("other")
    body = list_page(api, admin.token, limit=limit)
    assert len(body["items"]) == min(int(limit), 2)
    assert (body["nextCursor"] is None) == (int(limit) >= 2)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
def test_limit_out_of_range_is_422(api: Api, admin: Account, limit: str) -> None:
    assert error_fields(api.call("GET", USERS, token=admin.token, query={"limit": limit})) == {
        "limit"
    }


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "!!!", "W10", "WyJhIl0", "WyJub3QtYS1kYXRlIiwibm90LWEtdXVpZCJd"],
    ids=["garbage", "bangs", "empty-list", "one-part", "not-date-not-uuid"],
)
def test_bad_cursor_is_400(api: Api, admin: Account, cursor: str) -> None:
    problem = assert_problem(
        api.call("GET", USERS, token=admin.token, query={"cursor": cursor}), 400
    )
    assert "cursor" in problem["detail"].lower()


def test_overlong_cursor_is_rejected(api: Api, admin: Account) -> None:
    response = api.call("GET", USERS, token=admin.token, query={"cursor": "A" * 600})
    assert response.status in (400, 422)
    assert_problem(response, response.status)
