"""A minimal server-rendered login page, so the one-time URL printed by `sentinel serve` works
even before the dashboard bundle is built (the dashboard's own login page takes over when built).

The one-time token is consumed by a POST, never by the GET: link previews and prefetchers that
open the URL cannot burn it.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agentsentinel.api.deps import RuntimeDep, SessionDep
from agentsentinel.api.routers.keys import create_session
from agentsentinel.errors import SentinelError
from agentsentinel.schemas.key import SessionCreate

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>AgentSentinel login</title><meta name="viewport" content="width=device-width">
<style>body{{font-family:system-ui;max-width:28rem;margin:4rem auto;padding:0 1rem}}
input,button{{font:inherit;padding:.4rem;width:100%;margin:.3rem 0}}.err{{color:#b00}}</style>
</head><body><h1>AgentSentinel</h1>{message}
<form method="post" action="/login">
{token_field}
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="off" placeholder="as_adm_…">
<button type="submit">Sign in</button></form></body></html>"""


def _page(token: str | None, message: str = "", status: int = 200) -> HTMLResponse:
    token_field = ""
    if token:
        token_field = (
            f'<input type="hidden" name="token" value="{html.escape(token)}">'
            "<p>Sign in with the one-time login link, or paste an API key.</p>"
        )
    return HTMLResponse(
        _PAGE.format(message=message, token_field=token_field),
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
            ),
        },
    )


@router.get("/login")
async def login_page(token: str | None = None) -> HTMLResponse:
    return _page(token[:128] if token else None)


@router.post("/login")
async def login_submit(request: Request, runtime: RuntimeDep, session: SessionDep) -> Response:
    body = await request.body()
    fields = parse_qs(body.decode("utf-8", "replace")[:4096])
    key = (fields.get("key") or [""])[0].strip() or None
    token = (fields.get("token") or [""])[0].strip() or None
    credential = SessionCreate(key=key) if key else SessionCreate(token=token) if token else None
    if credential is None:
        return _page(None, '<p class="err">Enter an API key.</p>', 400)
    redirect = RedirectResponse("/", status_code=303)
    try:
        await create_session(credential, request, redirect, runtime, session)
    except SentinelError as exc:
        return _page(None, f'<p class="err">{html.escape(str(exc.detail))}</p>', exc.status_code)
    return redirect
