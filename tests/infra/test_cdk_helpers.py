"""The CDK app's helpers: code asset excludes, layer dependency list/hash, config."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from aws_cdk import App, CopyOptions, DockerImage, FileSystem

from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.functions import code_excludes
from infra.cdk.inkwell_infra.layer import (
    PipLayerBundling,
    layer_asset_hash,
)
from infra.cdk.inkwell_infra.runtime import (
    BUILD_PYTHON_ENV,
    LambdaPlatform,
    build_interpreter,
    interpreter_version,
)
from tests.tls_support import CertificateAuthority, as_npm_module

PLATFORM = LambdaPlatform("python3.13", "arm64")

pytestmark = pytest.mark.xdist_group("cdk")


def write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_code_excludes_keep_only_wiring_and_the_domain(tmp_path: Path) -> None:
    src = tmp_path / "functions"
    for rel in (
        "wiring.py",
        "conftest.py",
        "users/__init__.py",
        "users/routes/login.py",
        "users/migrations/0001_users.sql",
        "users/__pycache__/login.cpython-311.pyc",
        "users/tests/test_login.py",
        "users/test_service.py",
        "content/__init__.py",
        "content/posts.py",
        "authorizer/handler.py",
        "__pycache__/wiring.cpython-311.pyc",
    ):
        write(src / rel)
    dest = tmp_path / "out"
    FileSystem.copy_directory(str(src), str(dest), CopyOptions(exclude=code_excludes("users")))
    assert files_under(dest) == {
        "wiring.py",
        "users/__init__.py",
        "users/routes/login.py",
        "users/migrations/0001_users.sql",
    }


def test_layer_hash_tracks_dependencies_and_sources(tmp_path: Path) -> None:
    write(tmp_path / "inkwell" / "db.py", "A = 1\n")
    base = layer_asset_hash(["pg8000==1.31.6"], PLATFORM, tmp_path)
    assert layer_asset_hash(["pg8000==1.31.6"], PLATFORM, tmp_path) == base
    assert layer_asset_hash(["pg8000==1.31.5"], PLATFORM, tmp_path) != base
    # another runtime or architecture is another layer
    assert (
        layer_asset_hash(["pg8000==1.31.6"], LambdaPlatform("python3.12", "arm64"), tmp_path)
        != base
    )
    assert (
        layer_asset_hash(["pg8000==1.31.6"], LambdaPlatform("python3.13", "x86_64"), tmp_path)
        != base
    )
    write(tmp_path / "inkwell" / "__pycache__" / "db.cpython-311.pyc", "junk")
    assert layer_asset_hash(["pg8000==1.31.6"], PLATFORM, tmp_path) == base  # caches ignored
    write(tmp_path / "inkwell" / "db.py", "A = 2\n")
    assert layer_asset_hash(["pg8000==1.31.6"], PLATFORM, tmp_path) != base


def test_layer_bundling_copies_shared_code_under_python_and_compiles_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "inkwell" / "__init__.py", "VALUE = 1\n")
    write(src / "inkwell" / "platform_migrations" / "0001_outbox.sql", "select 1;")
    write(src / "inkwell" / "__pycache__" / "x.cpython-311.pyc", "junk")
    out = tmp_path / "out"
    out.mkdir()
    # no dependencies: exercises the copy without running pip. The runtime is this
    # interpreter's version, so the build finds an interpreter on any machine.
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    platform = LambdaPlatform(f"python{version}", "arm64")
    authority = CertificateAuthority("Test RDS Root CA")
    ca_module = tmp_path / "defaults.js"
    ca_module.write_text(as_npm_module([authority.pem]))
    bundled = PipLayerBundling(src, [], platform, rds_ca_source=ca_module).try_bundle(
        str(out), image=DockerImage.from_registry("unused")
    )
    assert bundled is True
    tag = sys.implementation.cache_tag
    # The stale .pyc of the source tree is not copied; a fresh one is compiled for the
    # runtime, hash-based so deployment timestamps don't matter.
    assert files_under(out) == {
        "python/inkwell/__init__.py",
        f"python/inkwell/__pycache__/__init__.{tag}.pyc",
        "python/inkwell/platform_migrations/0001_outbox.sql",
        "certs/rds-ca-bundle.pem",  # /opt/certs/... on Lambda
    }
    assert (out / "certs" / "rds-ca-bundle.pem").read_text() == authority.pem
    pyc = (out / "python" / "inkwell" / "__pycache__" / f"__init__.{tag}.pyc").read_bytes()
    flags = int.from_bytes(pyc[4:8], "little")
    assert flags == 0b01  # hash-based, unchecked


PROD_CHOICES = {
    "stage": "prod",
    "alarmEmail": "ops@x.example",
    "corsOrigins": "https://blog.x.example",
    "emailSender": "no-reply@x.example",
    "passwordResetUrl": "https://blog.x.example/reset",
}


def test_config_defaults_and_prod_safety() -> None:
    dev = InkwellConfig.from_node(App().node)
    assert dev.stage == "dev" and not dev.deletion_protection and not dev.snapshot_on_removal
    assert dev.cors_origins == ("http://localhost:3000",)
    assert dev.name_prefix == "inkwell-dev"
    assert not dev.flow_logs
    assert (dev.lambda_runtime, dev.lambda_architecture) == ("python3.13", "arm64")
    prod = InkwellConfig.from_node(App(context=PROD_CHOICES).node)
    assert prod.deletion_protection and prod.snapshot_on_removal and prod.multi_az
    assert prod.flow_logs
    custom = InkwellConfig.from_node(
        App(
            context={
                **PROD_CHOICES,
                "deletionProtection": "false",
                "corsOrigins": "https://a.example, https://b.example",
            }
        ).node
    )
    assert not custom.deletion_protection and custom.snapshot_on_removal
    assert custom.cors_origins == ("https://a.example", "https://b.example")
    with pytest.raises(ValueError):
        InkwellConfig.from_node(App(context={"wafWindowSeconds": 30}).node)


def test_config_event_settings() -> None:
    dev = InkwellConfig.from_node(App().node)
    assert dev.event_archive_retention_days == 30
    assert dev.alarm_email is None
    custom = InkwellConfig.from_node(
        App(context={"eventArchiveRetentionDays": "7", "alarmEmail": " ops@x.example "}).node
    )
    assert custom.event_archive_retention_days == 7
    assert custom.alarm_email == "ops@x.example"
    assert InkwellConfig.from_node(App(context={"alarmEmail": ""}).node).alarm_email is None
    for bad in ({"eventArchiveRetentionDays": 0}, {"alarmEmail": "not-an-address"}):
        with pytest.raises(ValueError):
            InkwellConfig.from_node(App(context=bad).node)


def test_config_email_sender() -> None:
    def config(**context: object) -> InkwellConfig:
        return InkwellConfig.from_node(App(context=context).node)

    off = config()
    assert off.email_sender is None
    assert off.email_sender_address is None and off.email_sender_domain is None
    assert config(emailSender="  ").email_sender is None
    bare = config(emailSender=" no-reply@blog.example.com ")
    assert bare.email_sender == "no-reply@blog.example.com"
    assert bare.email_sender_address == "no-reply@blog.example.com"
    assert bare.email_sender_domain == "blog.example.com"
    named = config(emailSender='"Inkwell, the blog" <no-reply@blog.example.com>')
    assert named.email_sender == '"Inkwell, the blog" <no-reply@blog.example.com>'
    assert named.email_sender_address == "no-reply@blog.example.com"
    assert named.email_sender_domain == "blog.example.com"
    assert config(emailSender="<a@b.example>").email_sender_address == "a@b.example"
    for bad in (
        "not-an-address",
        "Inkwell no-reply@blog.example.com",  # a name without the brackets
        "no-reply@blog.example.com>",
        "Ink<well <no-reply@blog.example.com>",
        "Inkwéll <no-reply@blog.example.com>",  # non-ASCII display name
        "Inkwell\t<no-reply@blog.example.com>",
        "Inkwell <no-reply@localhost>",
        "Inkwell <no reply@blog.example.com>",
        "a@b@blog.example.com",
        "a@.example.com",
    ):
        with pytest.raises(ValueError, match="emailSender"):
            config(emailSender=bad)


def test_prod_refuses_to_synthesize_without_its_choices() -> None:
    """stage=prod needs an alarm destination, the real CORS origins and an email choice,
    each named in the message; every one has an explicit opt-out or value."""
    with pytest.raises(ValueError) as refused:
        InkwellConfig.from_node(App(context={"stage": "prod"}).node)
    for setting in ("alarmEmail", "corsOrigins", "emailSender", "passwordResetUrl"):
        assert setting in str(refused.value)
    for missing in ("alarmEmail", "corsOrigins", "emailSender", "passwordResetUrl"):
        context = {k: v for k, v in PROD_CHOICES.items() if k != missing}
        with pytest.raises(ValueError, match=missing):
            InkwellConfig.from_node(App(context=context).node)
    # the development origin is no choice for prod
    with pytest.raises(ValueError, match="corsOrigins"):
        InkwellConfig.from_node(
            App(context={**PROD_CHOICES, "corsOrigins": "http://localhost:3000"}).node
        )
    # the documented opt-outs
    opted = InkwellConfig.from_node(
        App(
            context={
                **{k: v for k, v in PROD_CHOICES.items() if k != "emailSender"},
                "alarmEmail": "none",
                "email": "log",
                "passwordResetUrl": "none",
            }
        ).node
    )
    assert opted.alarm_subscriber is None and opted.email_sender is None
    assert opted.password_reset_url is None


def test_config_password_reset() -> None:
    def config(**context: object) -> InkwellConfig:
        return InkwellConfig.from_node(App(context=context).node)

    dev = config()
    assert dev.password_reset_url is None and dev.password_reset_ttl_minutes == 30
    custom = config(
        passwordResetUrl=" https://blog.x.example/reset?from=mail ", passwordResetTtlMinutes="15"
    )
    assert custom.password_reset_url == "https://blog.x.example/reset?from=mail"
    assert custom.password_reset_ttl_minutes == 15
    assert config(passwordResetUrl="http://localhost:3000/reset").password_reset_url
    assert config(passwordResetUrl="NONE").password_reset_url is None
    for bad in (
        "http://blog.x.example/reset",
        "blog.x.example/reset",
        "https:///reset",
        "https://blog.x.example/reset#token",
        "javascript:alert(1)",
    ):
        with pytest.raises(ValueError, match="passwordResetUrl"):
            config(passwordResetUrl=bad)
    # the range inkwell.settings accepts (60..86400 s)
    assert config(passwordResetTtlMinutes=1440).password_reset_ttl_minutes == 1440
    for bad_ttl in ("0", "1441", "half an hour", "-5"):
        with pytest.raises(ValueError, match="passwordResetTtlMinutes"):
            config(passwordResetTtlMinutes=bad_ttl)


def test_runtime_and_architecture_are_settings() -> None:
    config = InkwellConfig.from_node(
        App(context={"lambdaRuntime": "python3.12", "lambdaArchitecture": "x86_64"}).node
    )
    assert config.platform.runtime.name == "python3.12"
    assert config.platform.pip_args[:2] == ("--platform", "manylinux2014_x86_64")
    assert "3.12" in config.platform.pip_args
    for bad in ({"lambdaRuntime": "python3.9"}, {"lambdaArchitecture": "sparc"}):
        with pytest.raises(ValueError):
            InkwellConfig.from_node(App(context=bad).node)


def test_the_build_interpreter_is_exactly_the_runtime_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    found = build_interpreter(LambdaPlatform(f"python{here}", "arm64"))
    assert interpreter_version(found) == here
    # a runtime whose Python is nowhere: the build stops and says what to do
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.delenv(BUILD_PYTHON_ENV, raising=False)
    missing = "3.14" if here != "3.14" else "3.13"
    if any(
        interpreter_version(p) == missing
        for p in (f"/usr/bin/python{missing}", f"/usr/local/bin/python{missing}")
    ):
        pytest.skip(f"this machine has a system python{missing}")
    with pytest.raises(RuntimeError) as refused:
        build_interpreter(LambdaPlatform(f"python{missing}", "arm64"))
    message = str(refused.value)
    assert f"Python {missing}" in message and "lambdaRuntime" in message
    assert BUILD_PYTHON_ENV in message
    # an explicit interpreter of another version is not taken
    monkeypatch.setenv(BUILD_PYTHON_ENV, sys.executable)
    with pytest.raises(RuntimeError):
        build_interpreter(LambdaPlatform(f"python{missing}", "arm64"))
