"""The operator's page ``/betrieb/organisationen``: every organisation, and forms to create,
rename, move and archive them (workflow/organisations/manage.py decides what is allowed).

Operator only. A refused form comes back (422) with what was typed and the reason in the
reader's language, next to the form it belongs to; a done change redirects with a note.
Texts come from api/locales/operator.*.json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.common import flash, page, redirect
from api.deps import Operator, SessionDep, actor_of
from api.errors import worded
from api.i18n import language_of, translate
from workflow import runtime
from workflow.accounts import User
from workflow.organisations import manage
from workflow.organisations.manage import KINDS, OrganisationRefused

router = APIRouter(include_in_schema=False)
PAGE = "/betrieb/organisationen"
# A form field holds at most this much; the service names a name longer than its column.
MAX_TYPED = 2000
SlugPath = Annotated[str, Path(min_length=1, max_length=64)]
CREATE_FIELDS = ("slug", "name", "kind", "parent")


@dataclass
class Refusal:
    """Which form was refused (``create`` or ``<action>:<slug>``), what was typed, and why."""

    form: str = ""
    typed: dict[str, str] = field(default_factory=dict)
    message: str = ""


def _t(request: Request) -> Callable[..., str]:
    lang = language_of(request)
    return lambda key, **values: translate(key, lang, **values)


def _page(
    request: Request, user: User, session: Session, refusal: Refusal | None = None
) -> HTMLResponse:
    rows = manage.overview(session)
    refusal = refusal or Refusal()
    return page(
        request,
        "dashboard/operator_organisations.html",
        user,
        status_code=422 if refusal.form else 200,
        t=_t(request),
        rows=rows,
        districts=[r for r in rows if r.kind == manage.DISTRICT and r.archived_at is None],
        kinds=KINDS,
        refusal=refusal,
        create=refusal.typed if refusal.form == "create" else {},
    )


def _refused(
    request: Request, user: User, session: Session, form: str, typed: dict[str, str],
    exc: OrganisationRefused,
) -> HTMLResponse:  # fmt: skip
    # The service refuses before it changes anything, so the page shows the stored state.
    message = worded(f"organisation.{exc.code}", language_of(request), exc.params)
    return _page(request, user, session, Refusal(form, typed, message))


async def _typed(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    form = await request.form()
    return {n: str(form.get(n) or "")[:MAX_TYPED] for n in names}


@router.get(PAGE, response_class=HTMLResponse)
def organisations_page(request: Request, user: Operator, session: SessionDep) -> HTMLResponse:
    return _page(request, user, session)


@router.post(PAGE, response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def create(request: Request, user: Operator, session: SessionDep) -> Response:
    typed = await _typed(request, CREATE_FIELDS)
    rt = runtime.current()
    try:
        manage.create_organisation(
            session, slug=typed["slug"], name=typed["name"], kind=typed["kind"],
            parent_slug=typed["parent"], state=rt.settings.state,
            timezone=rt.settings.timezone, actor=actor_of(user), now=rt.clock.now(),
        )  # fmt: skip
    except OrganisationRefused as exc:
        return _refused(request, user, session, "create", typed, exc)
    flash(request, "operator.done.created")
    return redirect(PAGE)


@router.post(
    PAGE + "/{slug}/name", response_class=HTMLResponse, dependencies=[Depends(require_csrf)]
)
async def rename(request: Request, slug: SlugPath, user: Operator, session: SessionDep) -> Response:
    typed = await _typed(request, ("name",))
    rt = runtime.current()
    try:
        manage.rename_organisation(
            session, slug=slug, name=typed["name"], actor=actor_of(user), now=rt.clock.now()
        )
    except OrganisationRefused as exc:
        return _refused(request, user, session, f"name:{slug}", typed, exc)
    flash(request, "operator.done.renamed")
    return redirect(PAGE)


@router.post(
    PAGE + "/{slug}/kreis", response_class=HTMLResponse, dependencies=[Depends(require_csrf)]
)
async def move(request: Request, slug: SlugPath, user: Operator, session: SessionDep) -> Response:
    typed = await _typed(request, ("parent",))
    rt = runtime.current()
    try:
        manage.move_organisation(
            session, slug=slug, parent_slug=typed["parent"], actor=actor_of(user),
            now=rt.clock.now(),
        )  # fmt: skip
    except OrganisationRefused as exc:
        return _refused(request, user, session, f"kreis:{slug}", typed, exc)
    flash(request, "operator.done.moved")
    return redirect(PAGE)


@router.post(
    PAGE + "/{slug}/archivieren", response_class=HTMLResponse, dependencies=[Depends(require_csrf)]
)
def archive(request: Request, slug: SlugPath, user: Operator, session: SessionDep) -> Response:
    rt = runtime.current()
    try:
        manage.archive_organisation(session, slug=slug, actor=actor_of(user), now=rt.clock.now())
    except OrganisationRefused as exc:
        return _refused(request, user, session, f"archive:{slug}", {}, exc)
    flash(request, "operator.done.archived")
    return redirect(PAGE)


@router.post(
    PAGE + "/{slug}/reaktivieren", response_class=HTMLResponse, dependencies=[Depends(require_csrf)]
)
def unarchive(request: Request, slug: SlugPath, user: Operator, session: SessionDep) -> Response:
    rt = runtime.current()
    try:
        manage.unarchive_organisation(session, slug=slug, actor=actor_of(user), now=rt.clock.now())
    except OrganisationRefused as exc:
        return _refused(request, user, session, f"archive:{slug}", {}, exc)
    flash(request, "operator.done.unarchived")
    return redirect(PAGE)
