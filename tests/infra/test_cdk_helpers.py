"""The CDK app's helpers: code asset excludes, layer dependency list/hash, config."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest
from aws_cdk import App, CopyOptions, DockerImage, FileSystem

from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.functions import code_excludes
from infra.cdk.inkwell_infra.layer import (
    PipLayerBundling,
    layer_asset_hash,
    project_dependencies,
)
from infra.cdk.inkwell_infra.paths import PYPROJECT

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
        "users/login.py",
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
        "users/login.py",
        "users/migrations/0001_users.sql",
    }


def test_layer_dependencies_come_from_pyproject() -> None:
    with PYPROJECT.open("rb") as fh:
        declared = tomllib.load(fh)["project"]["dependencies"]
    assert project_dependencies() == declared
    assert declared, "the layer would ship no dependencies"


def test_layer_hash_tracks_dependencies_and_sources(tmp_path: Path) -> None:
    write(tmp_path / "inkwell" / "db.py", "A = 1\n")
    base = layer_asset_hash(["pg8000==1.31.6"], tmp_path)
    assert layer_asset_hash(["pg8000==1.31.6"], tmp_path) == base
    assert layer_asset_hash(["pg8000==1.31.5"], tmp_path) != base
    write(tmp_path / "inkwell" / "__pycache__" / "db.cpython-311.pyc", "junk")
    assert layer_asset_hash(["pg8000==1.31.6"], tmp_path) == base  # caches are ignored
    write(tmp_path / "inkwell" / "db.py", "A = 2\n")
    assert layer_asset_hash(["pg8000==1.31.6"], tmp_path) != base


def test_layer_bundling_copies_shared_code_under_python_and_compiles_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "inkwell" / "__init__.py", "VALUE = 1\n")
    write(src / "inkwell" / "platform_migrations" / "0001_outbox.sql", "select 1;")
    write(src / "inkwell" / "__pycache__" / "x.cpython-311.pyc", "junk")
    out = tmp_path / "out"
    out.mkdir()
    # no dependencies: exercises the copy without running pip
    bundled = PipLayerBundling(src, []).try_bundle(
        str(out), image=DockerImage.from_registry("unused")
    )
    assert bundled is True
    tag = sys.implementation.cache_tag
    # The stale .pyc of the source tree is not copied; a fresh one is compiled for the
    # runtime (= this interpreter), hash-based so deployment timestamps don't matter.
    assert files_under(out) == {
        "python/inkwell/__init__.py",
        f"python/inkwell/__pycache__/__init__.{tag}.pyc",
        "python/inkwell/platform_migrations/0001_outbox.sql",
    }
    pyc = (out / "python" / "inkwell" / "__pycache__" / f"__init__.{tag}.pyc").read_bytes()
    flags = int.from_bytes(pyc[4:8], "little")
    assert flags == 0b01  # hash-based, unchecked


def test_config_defaults_and_prod_safety() -> None:
    dev = InkwellConfig.from_node(App().node)
    assert dev.stage == "dev" and not dev.deletion_protection and not dev.snapshot_on_removal
    assert dev.cors_origins == ("http://localhost:3000",)
    assert dev.name_prefix == "inkwell-dev"
    prod = InkwellConfig.from_node(App(context={"stage": "prod"}).node)
    assert prod.deletion_protection and prod.snapshot_on_removal and prod.multi_az
    custom = InkwellConfig.from_node(
        App(
            context={
                "stage": "prod",
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
