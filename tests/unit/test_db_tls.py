"""verify-full TLS to PostgreSQL: against the system store, or only against a CA bundle
(the maintenance functions on AWS: the RDS CAs, since the instance's certificate is
signed by an RDS CA that no public store holds)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from inkwell import env
from inkwell.db import ConnectionParams
from inkwell.settings import ConfigurationError
from tests.tls_support import CertificateAuthority

HOST = "localhost"


@pytest.fixture
def authority() -> CertificateAuthority:
    return CertificateAuthority("Test RDS us-east-1 Root CA RSA2048 G1")


@pytest.fixture
def tls_server(tmp_path: Path, authority: CertificateAuthority) -> Iterator[int]:
    """A loopback TLS server presenting a certificate for ``localhost`` signed by the
    test CA; it completes one handshake per connection."""
    issued = authority.issue(HOST)
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    cert.write_text(issued.certificate_pem)
    key.write_text(issued.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(10)
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass  # the client refused our certificate

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    listener.close()


def handshake(params: ConnectionParams, port: int) -> None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        params.ssl_context().wrap_socket(raw, server_hostname=params.host),
    ):
        pass


def aws_maintenance_env(monkeypatch: pytest.MonkeyPatch, bundle: Path | None) -> None:
    for name in (env.db_url("users"), env.DB_TLS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(env.DB_AUTH, env.DB_AUTH_IAM)
    monkeypatch.setenv(env.db_host("users"), "proxy.example")
    monkeypatch.setenv(env.db_instance_host("users"), HOST)
    if bundle is None:
        monkeypatch.delenv(env.DB_CA_BUNDLE, raising=False)
    else:
        monkeypatch.setenv(env.DB_CA_BUNDLE, str(bundle))


def test_maintenance_verifies_the_instance_against_the_ca_bundle(
    tmp_path: Path,
    authority: CertificateAuthority,
    tls_server: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = tmp_path / "rds-ca-bundle.pem"
    bundle.write_text(authority.pem)
    aws_maintenance_env(monkeypatch, bundle)
    params = ConnectionParams.for_domain("users", maintenance=True)
    assert (params.host, params.tls, params.ca_file) == (HOST, True, str(bundle))
    handshake(params, tls_server)  # verify-full: chain and host name
    # the master user's bootstrap connection keeps the same verification
    assert params.as_user("postgres", "secret").ca_file == str(bundle)


def test_without_the_bundle_the_instance_certificate_is_refused(
    tls_server: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the maintenance functions met on AWS before: the system store does not know
    the RDS CA."""
    aws_maintenance_env(monkeypatch, None)
    params = ConnectionParams.for_domain("users", maintenance=True)
    assert params.ca_file is None
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(params, tls_server)


def test_the_bundle_is_the_only_trust_and_the_host_name_must_match(
    tmp_path: Path,
    tls_server: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = tmp_path / "other.pem"
    other.write_text(CertificateAuthority("Some other CA").pem)
    aws_maintenance_env(monkeypatch, other)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(ConnectionParams.for_domain("users", maintenance=True), tls_server)


def test_a_wrong_host_name_is_refused(
    tmp_path: Path,
    authority: CertificateAuthority,
    tls_server: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = tmp_path / "rds-ca-bundle.pem"
    bundle.write_text(authority.pem)
    aws_maintenance_env(monkeypatch, bundle)
    monkeypatch.setenv(env.db_instance_host("users"), "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(ConnectionParams.for_domain("users", maintenance=True), tls_server)


def test_a_missing_bundle_file_is_a_configuration_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws_maintenance_env(monkeypatch, tmp_path / "absent.pem")
    with pytest.raises(ConfigurationError, match=env.DB_CA_BUNDLE):
        ConnectionParams.for_domain("users", maintenance=True)
