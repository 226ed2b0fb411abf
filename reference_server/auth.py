"""Bearer-token auth with pyjwt: off unless a secret or a JWKS is configured.

With an HS256 secret (Supabase style) or a JWKS (RS256/ES256, from a URL or a file), every
request but ``/ok`` and CORS preflights must carry ``Authorization: Bearer <jwt>``. The
signature, ``exp`` and (when configured) ``aud`` are verified; ``sub`` becomes the owner of
everything the caller creates. Algorithms are fixed by the configured key type, so a token
announcing ``alg: none`` or HS256-signed-with-the-public-key never verifies.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from reference_server.settings import AuthSettings

_HMAC_ALGORITHMS = ["HS256"]
_ASYMMETRIC_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"]
_JWKS_CACHE_SECONDS = 300


class AuthenticationError(Exception):
    """The request carries no valid token; the message is the 401 detail."""


@dataclass(frozen=True, slots=True)
class AuthenticatedUser:
    identity: str
    """The token's ``sub``."""
    claims: dict[str, Any] = field(default_factory=dict)
    token: str = ""

    @property
    def permissions(self) -> list[str]:
        value = self.claims.get("permissions")
        return [str(item) for item in value] if isinstance(value, list) else []


class TokenVerifier:
    """Verifies bearer tokens against the configured key source."""

    def __init__(self, settings: AuthSettings) -> None:
        if not settings.enabled:
            raise ValueError("TokenVerifier needs an HS256 secret, a JWKS url or a JWKS file")
        if settings.hs256_secret and (settings.jwks_url or settings.jwks_file):
            raise ValueError("configure either an HS256 secret or a JWKS, not both")
        if settings.jwks_url and settings.jwks_file:
            raise ValueError("configure either a JWKS url or a JWKS file, not both")
        self._settings = settings
        self._jwks_client = (
            jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=_JWKS_CACHE_SECONDS)
            if settings.jwks_url
            else None
        )
        self._jwks_file_keys = _load_jwks_file(settings.jwks_file) if settings.jwks_file else None

    async def verify_header(self, authorization: str | None) -> AuthenticatedUser:
        """The user an ``Authorization`` header value proves, or AuthenticationError."""
        if not authorization:
            raise AuthenticationError("Missing Authorization header: expected 'Bearer <token>'")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("Invalid Authorization header: expected 'Bearer <token>'")
        return await self.verify_token(token)

    async def verify_token(self, token: str) -> AuthenticatedUser:
        key, algorithms = await self._signing_key(token)
        options: Any = {"require": ["exp", "sub"]}
        if self._settings.audience is None:
            # Supabase tokens carry aud "authenticated"; only check it when asked to.
            options["verify_aud"] = False
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=algorithms,
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                options=options,
            )
        except jwt.ExpiredSignatureError as error:
            raise AuthenticationError("Token has expired") from error
        except jwt.InvalidAudienceError as error:
            raise AuthenticationError(f"Invalid token audience: {error}") from error
        except jwt.InvalidSignatureError as error:
            raise AuthenticationError("Invalid token signature") from error
        except jwt.MissingRequiredClaimError as error:
            raise AuthenticationError(f"Invalid token: {error}") from error
        except jwt.InvalidAlgorithmError as error:
            raise AuthenticationError("Invalid token: algorithm not allowed") from error
        except jwt.PyJWTError as error:
            raise AuthenticationError(f"Invalid token: {error}") from error
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError("Invalid token: 'sub' must be a non-empty string")
        return AuthenticatedUser(identity=subject, claims=claims, token=token)

    async def _signing_key(self, token: str) -> tuple[Any, list[str]]:
        if self._settings.hs256_secret:
            return self._settings.hs256_secret, _HMAC_ALGORITHMS
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise AuthenticationError(f"Invalid token: {error}") from error
        if header.get("alg") not in _ASYMMETRIC_ALGORITHMS:
            raise AuthenticationError("Invalid token: algorithm not allowed")
        if self._jwks_client is not None:
            try:
                # PyJWKClient fetches with blocking urllib: keep it off the event loop.
                signing_key = await asyncio.to_thread(
                    self._jwks_client.get_signing_key_from_jwt, token
                )
            except jwt.PyJWKClientError as error:
                raise AuthenticationError(f"Invalid token: {error}") from error
            return signing_key.key, _ASYMMETRIC_ALGORITHMS
        return self._file_key(header.get("kid")), _ASYMMETRIC_ALGORITHMS

    def _file_key(self, key_id: Any) -> Any:
        keys = self._jwks_file_keys or []
        if key_id is None and len(keys) == 1:
            return keys[0].key
        for candidate in keys:
            if candidate.key_id == key_id:
                return candidate.key
        raise AuthenticationError(f"Invalid token: no JWKS key matches kid {key_id!r}")


def _load_jwks_file(path: Path) -> list[jwt.PyJWK]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read JWKS file {path}: {error}") from error
    try:
        return list(jwt.PyJWKSet.from_dict(document).keys)
    except jwt.PyJWTError as error:
        raise ValueError(f"JWKS file {path} holds no usable key: {error}") from error
