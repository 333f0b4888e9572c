"""Log in and out. The login form carries a CSRF token too (double-submit cookie), so no
other site can log a browser in under its own account."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sync.server.console import auth
from sync.server.console.web import (
    LOGIN_CSRF_COOKIE,
    LOGIN_PATH,
    PREFIX,
    SESSION_COOKIE,
    PostedForm,
    check_csrf,
    current_admin,
    engine_of,
    optional_admin,
    redirect,
    render,
    settings_of,
)

router = APIRouter(include_in_schema=False)


@router.get(LOGIN_PATH, response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    if optional_admin(request) is not None:
        return redirect("/console/")
    return render(request, "login.html", {})


@router.post(LOGIN_PATH)
def login_post(request: Request, form: PostedForm) -> Response:
    check_csrf(request, form)  # a logged-in browser: its session's token
    if optional_admin(request) is not None:
        return redirect("/console/")
    client = request.client.host if request.client else "unknown"
    settings = settings_of(request)
    try:
        session = auth.login(engine_of(request), settings, form.get("user", ""),
                             form.get("password", ""), client)
    except auth.LoginRefused as refused:
        return render(request, "login.html", {"message": refused.message,
                                              "name": form.get("user", "")}, status=401)
    response = redirect("/console/")
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="strict",
                        secure=settings.secure_cookie, path=PREFIX)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/console/logout")
def logout_post(request: Request, form: PostedForm) -> Response:
    user = current_admin(request)
    check_csrf(request, form)
    auth.logout(engine_of(request), request.cookies.get(SESSION_COOKIE), user.user)
    response = redirect(LOGIN_PATH)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response
