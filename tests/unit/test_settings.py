"""Settings are validated when read, and a bad value names its variable."""

from __future__ import annotations

import pytest

from inkwell.settings import ConfigurationError, Settings, required

INT_VARIABLES = [
    "INKWELL_ACCESS_TOKEN_TTL",
    "INKWELL_REFRESH_TOKEN_TTL",
    "INKWELL_BCRYPT_ROUNDS",
    "INKWELL_LOGIN_MAX_FAILURES",
    "INKWELL_LOGIN_FAILURE_WINDOW",
]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [
        *INT_VARIABLES,
        "INKWELL_STAGE",
        "INKWELL_JWT_ISSUER",
        "INKWELL_JWT_AUDIENCE",
        "INKWELL_CORS_ORIGINS",
    ]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults(env: pytest.MonkeyPatch) -> None:
    config = Settings.from_env()
    assert config.stage == "local"
    assert (config.jwt_issuer, config.jwt_audience) == ("inkwell", "inkwell-api")
    assert config.access_token_ttl_s == 900
    assert config.refresh_token_ttl_s == 14 * 86400
    assert config.bcrypt_rounds == 12
    assert config.cors_origins == ()
    assert config.login_max_failures == 5
    assert config.login_failure_window_s == 900


def test_values_from_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("INKWELL_ACCESS_TOKEN_TTL", "600")
    env.setenv("INKWELL_BCRYPT_ROUNDS", "10")
    env.setenv("INKWELL_CORS_ORIGINS", " https://a.example , ,https://b.example ")
    env.setenv("INKWELL_STAGE", "prod")
    config = Settings.from_env()
    assert config.access_token_ttl_s == 600
    assert config.bcrypt_rounds == 10
    assert config.cors_origins == ("https://a.example", "https://b.example")
    assert config.stage == "prod"


def test_empty_value_means_default(env: pytest.MonkeyPatch) -> None:
    env.setenv("INKWELL_BCRYPT_ROUNDS", "")
    assert Settings.from_env().bcrypt_rounds == 12


@pytest.mark.parametrize("name", INT_VARIABLES)
@pytest.mark.parametrize("value", ["abc", "1.5", "12s", " "])
def test_non_integer_names_the_variable(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv(name, value)
    with pytest.raises(ConfigurationError, match=f"^{name} must be an integer"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INKWELL_ACCESS_TOKEN_TTL", "59"),
        ("INKWELL_ACCESS_TOKEN_TTL", "3601"),
        ("INKWELL_REFRESH_TOKEN_TTL", "10"),
        ("INKWELL_BCRYPT_ROUNDS", "3"),
        ("INKWELL_BCRYPT_ROUNDS", "17"),
        ("INKWELL_LOGIN_MAX_FAILURES", "0"),
        ("INKWELL_LOGIN_FAILURE_WINDOW", "-5"),
    ],
)
def test_out_of_range_names_the_variable(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv(name, value)
    with pytest.raises(ConfigurationError, match=f"^{name} must be between"):
        Settings.from_env()


def test_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INKWELL_SOMETHING", "value")
    assert required("INKWELL_SOMETHING") == "value"
    monkeypatch.setenv("INKWELL_SOMETHING", "")
    with pytest.raises(ConfigurationError, match="INKWELL_SOMETHING"):
        required("INKWELL_SOMETHING")
    monkeypatch.delenv("INKWELL_SOMETHING")
    with pytest.raises(ConfigurationError, match="INKWELL_SOMETHING"):
        required("INKWELL_SOMETHING")
