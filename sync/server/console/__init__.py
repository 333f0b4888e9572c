"""The administrator web console (server-rendered, Japanese first with English), under
/console. ``install`` adds it to the API app; page modules are listed in
``web.ROUTE_MODULES`` (see web.py's docstring for how to add one)."""

from __future__ import annotations

import importlib
import os

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from sync.server.console import web

SECURE_COOKIE_ENV = "MADOGUCHI_CONSOLE_SECURE_COOKIE"


def _settings() -> web.Settings:
    secure = os.environ.get(SECURE_COOKIE_ENV, "").lower() in ("1", "true", "yes")
    return web.Settings(secure_cookie=secure)


def _install_handlers(app: FastAPI) -> None:
    async def login_required(request: Request, _exc: Exception) -> Response:
        return web.redirect(web.LOGIN_PATH)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, web.Forbidden)
        return web.render(request, "error.html", {"title": "403 禁止 (forbidden)",
                                                  "message": exc.message}, status=403)

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, web.NotFound)
        return web.render(request, "error.html", {"title": "404 見つかりません (not found)",
                                                  "message": exc.message}, status=404)

    app.add_exception_handler(web.LoginRequired, login_required)
    app.add_exception_handler(web.Forbidden, forbidden)
    app.add_exception_handler(web.NotFound, not_found)


def install(app: FastAPI, engine: Engine, settings: web.Settings | None = None) -> None:
    """Add the console's routes, static files and error pages to ``app`` (whose
    ``state.engine`` is ``engine``)."""
    app.state.engine = engine
    app.state.console_settings = settings or _settings()
    _install_handlers(app)
    for name in web.ROUTE_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue  # a page module another helper has not written yet
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=web.STATIC), name="console-static")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)
