"""The RDS CA bundle of the layer: read from the pinned npm package at bundling time."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest

from infra.cdk.inkwell_infra import rds_ca
from tests.tls_support import CertificateAuthority, as_npm_module

pytestmark = pytest.mark.xdist_group("cdk")


def common_names(context: ssl.SSLContext) -> set[str]:
    names: set[str] = set()
    for ca in context.get_ca_certs():
        for rdn in ca["subject"]:
            for attribute in rdn:
                if attribute[0] == "commonName":
                    names.add(str(attribute[1]))
    return names


def test_the_package_module_becomes_one_pem_trust_store(tmp_path: Path) -> None:
    authorities = [
        CertificateAuthority(f"Test RDS {region} Root CA RSA2048 G1")
        for region in ("eu-west-1", "us-east-1")
    ]
    source = tmp_path / "defaults.js"
    source.write_text(as_npm_module([ca.pem for ca in authorities]))
    bundle = tmp_path / "out" / rds_ca.LAYER_RELATIVE_PATH
    assert rds_ca.write_bundle(bundle, source) == 2
    assert bundle.read_text() == "".join(ca.pem for ca in authorities)
    context = ssl.create_default_context(cafile=str(bundle))
    assert common_names(context) == {
        "Test RDS eu-west-1 Root CA RSA2048 G1",
        "Test RDS us-east-1 Root CA RSA2048 G1",
    }


def test_a_missing_package_or_a_module_without_certificates_fails_the_bundling(
    tmp_path: Path,
) -> None:
    with pytest.raises(rds_ca.RdsCaError, match="npm ci"):
        rds_ca.write_bundle(tmp_path / "b.pem", tmp_path / "absent.js")
    empty = tmp_path / "empty.js"
    empty.write_text("exports.defaults = [];\n")
    with pytest.raises(rds_ca.RdsCaError, match="no PEM certificate"):
        rds_ca.write_bundle(tmp_path / "b.pem", empty)
    leaf = CertificateAuthority("Test CA").issue("db.example")
    not_a_ca = tmp_path / "leaf.js"
    not_a_ca.write_text(as_npm_module([leaf.certificate_pem]))
    with pytest.raises(rds_ca.RdsCaError, match="no CA"):
        rds_ca.write_bundle(tmp_path / "b.pem", not_a_ca)


def test_the_pinned_package_version_is_read_from_the_lock_file() -> None:
    version = rds_ca.locked_version()
    assert version.count(".") == 2 and version.replace(".", "").isdigit()
    assert rds_ca.LAYER_PATH == "/opt/certs/rds-ca-bundle.pem"


# `make test` runs `npm ci` first; only a bare pytest without node_modules skips it, never CI.
@pytest.mark.skipif(
    not rds_ca.SOURCE.is_file() and os.environ.get("CI") != "true",
    reason="npm ci has not run (make test and make synth run it)",
)
def test_the_installed_package_holds_the_ca_the_instances_use(tmp_path: Path) -> None:
    """The CA the stack pins for its instances (RDS_CA_RSA2048_G1) is in the bundle,
    for every region (one root per region)."""
    bundle = tmp_path / "bundle.pem"
    rds_ca.write_bundle(bundle)
    names = common_names(ssl.create_default_context(cafile=str(bundle)))
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        assert f"Amazon RDS {region} Root CA RSA2048 G1" in names
