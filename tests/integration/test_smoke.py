from tests.conftest import Api


def test_register_login_me(api: Api) -> None:
    user = api.register("alice")
    tokens = api.login("alice")
    me = api.call("GET", "/api/v1/users/me", token=tokens["token"])
    assert me.status == 200
    assert me.json()["id"] == user["id"]
    assert me.headers["x-request-id"]
