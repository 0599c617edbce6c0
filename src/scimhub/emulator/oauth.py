"""OIDC discovery, JWKS and the token endpoint."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import aadsts
from .context import Emulator
from .directory import find_tenant, is_multi_tenant
from .tokens import authorization_code, client_credentials, openid_configuration


def routes(emu: Emulator) -> list[Route]:
    async def discovery(request: Request) -> Response:
        ref = request.path_params["tenant"]
        if is_multi_tenant(ref):
            return JSONResponse(openid_configuration(emu.base_url, ref.lower(), "{tenantid}"))
        with emu.engine.connect() as conn:
            tenant = find_tenant(conn, ref)
        if tenant is None:
            err = aadsts.tenant_not_found(ref)
            return JSONResponse(err.body(emu.base_url, None), status_code=err.status)
        return JSONResponse(openid_configuration(emu.base_url, tenant.id, tenant.id))

    async def keys(request: Request) -> Response:
        return JSONResponse({"keys": [emu.key.jwk()]})

    async def token(request: Request) -> Response:
        correlation = request.headers.get("client-request-id")
        segment = request.path_params["tenant"]
        try:
            form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        except Exception:  # malformed bodies get Entra's missing-parameter error, not a 500
            form = {}
        try:
            if form.get("grant_type") == "authorization_code":
                with emu.engine.begin() as conn:  # redeeming writes: codes are single use
                    body = authorization_code(
                        conn,
                        emu.key,
                        emu.base_url,
                        segment,
                        form,
                        request.headers.get("authorization", ""),
                    )
            else:
                with emu.engine.connect() as conn:
                    body = client_credentials(conn, emu.key, emu.base_url, segment, form)
        except aadsts.AadstsError as err:
            return JSONResponse(
                err.body(emu.base_url, correlation),
                status_code=err.status,
                headers={"Cache-Control": "no-store"},
            )
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", discovery),
        Route("/{tenant}/discovery/v2.0/keys", keys),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    ]
