"""The sandbox's registry signing key: an RSA key, its self-signed certificate, RS256 JWTs.

GitLab signs registry tokens with `JSONWebToken::RSAToken`: RS256 with a `kid` header. The
registry (distribution 2.8, `registry/auth/token/token.go`) finds the verifying key by that
`kid` among the keys of its `rootcertbundle`, keyed by their *libtrust* key id, so the `kid`
must be computed the libtrust way (see `libtrust_key_id`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

ISSUER = "gitlab-issuer"  # the issuer most GitLab installs configure (registry.issuer)
AUDIENCE = "container_registry"  # Auth::ContainerRegistryAuthenticationService::AUDIENCE
KEY_FILE = "registry-signing.key"
CERT_FILE = "registry-signing.crt"


def libtrust_key_id(public_key: rsa.RSAPublicKey) -> str:
    """libtrust's KeyID: base32(sha256(DER SubjectPublicKeyInfo)[:30]) in groups of 4 joined by ':'."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()  # 240 bits -> 48 chars, no padding
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKey:
    private_key: rsa.RSAPrivateKey
    cert_path: Path

    @property
    def kid(self) -> str:
        return libtrust_key_id(self.private_key.public_key())

    @classmethod
    def load_or_create(cls, directory: Path) -> "SigningKey":
        """Reuse the key in `directory` so a restarted sandbox keeps verifying old tokens."""
        directory.mkdir(parents=True, exist_ok=True)
        key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
        if key_path.exists() and cert_path.exists():
            loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            return cls(loaded, cert_path)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
        cert_path.write_bytes(_self_signed_cert(key).public_bytes(serialization.Encoding.PEM))
        return cls(key, cert_path)

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = self.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)

    def registry_token(
        self,
        access: list[dict[str, Any]],
        *,
        subject: str | None,
        expire_seconds: int,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A registry token with GitLab's claims (JSONWebToken::Token + authorized_token)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "iat": now,
            "nbf": now - 5,  # JSONWebToken::Token: not_before = now - 5 seconds
            "exp": now + expire_seconds,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            **(extra or {}),
            "access": access,
        }
        return self.sign(claims)


def decode_unverified(token: str) -> dict[str, Any]:
    """The claims of a JWT, without checking the signature (tests and diagnostics)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _self_signed_cert(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "glcr sandbox registry token signer")])
    now = dt.datetime.now(dt.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
