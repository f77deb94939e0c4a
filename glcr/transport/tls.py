"""Telling a certificate that does not verify from a host that does not answer.

Both surface as a connect error (httpx.ConnectError, requests' SSLError); the fix differs: the
CA that signed the server's certificate, given as --ca-file / GLCR_CA_FILE or SSL_CERT_FILE.
"""

from __future__ import annotations

import ssl

CA_HINT = "give the CA that signed it with --ca-file (GLCR_CA_FILE) or SSL_CERT_FILE"


def certificate_failed(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it was raised from, is a failed certificate check."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(current):  # requests and urllib3 keep only the text
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
