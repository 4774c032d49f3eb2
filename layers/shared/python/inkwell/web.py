"""What every HTTP answer of the API shares, wherever it is made.

The functions (inkwell.http), API Gateway's own responses (CDK) and the local gateway all
answer with these; the wiring re-exports them, so each is written once, here in the layer
that the functions ship with. Plain constants, no imports: the CDK app reads them too.
"""

from __future__ import annotations

API_PREFIX = "/api/v1"

# CORS, as API Gateway's preflight, its gateway responses and the functions all answer it.
CORS_ALLOW_HEADERS: tuple[str, ...] = ("Authorization", "Content-Type", "X-Request-ID")
CORS_EXPOSE_HEADERS: tuple[str, ...] = ("X-Request-ID", "Retry-After", "Location")
CORS_MAX_AGE_S = 3600

# Sent with every response: by the functions, by API Gateway's own responses (CDK) and by
# the local gateway. The API serves JSON only: nothing may be sniffed, framed or embedded.
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
# Responses that carry credentials (tokens) must not be stored by any cache.
NO_STORE = "no-store"
