"""Every route of the app as concrete requests, with one organisation's ids filled in everywhere.

Paths, query strings and bodies are filled from the route's own declaration (its FastAPI
dependant and its body model's JSON schema), so a route added later is walked without being
named here. An id-taking parameter is matched to a table by its name (``goal_id`` → ``goal``,
``source_contact_id`` → ``contact``, ``record_id`` → the collection in the path); a
parameter that matches nothing is collected in ``Filler.unknown`` for the walk to report.
This module builds requests; it never judges the answers.
"""

from __future__ import annotations

import io
import re
import typing
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal
from urllib.parse import unquote, urlencode

from fastapi import FastAPI
from fastapi import params as fastapi_params
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel

YEAR = 2026
PARAM = re.compile(r"\{(\w+)(:\w+)?\}")
# Path parameters that name their table differently.
TABLE_OF = {
    "item_id": "measure_cycle",
    "message_id": "outbox_message",
    "token_id": "api_token",
    "request_id": "data_request",
    "user_id": "app_user",
    "deputy_of_id": "body_member",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    dependant: Any | None
    roles: frozenset[str] | None

    @property
    def params(self) -> list[str]:
        return [m.group(1) for m in PARAM.finditer(self.path)]


def declared_roles(dependant: Any) -> frozenset[str] | None:
    """The roles a route lets through (as tests/test_api_access.py reads them), or None."""
    found: set[str] = set()
    declared = False
    stack = [dependant]
    while stack:
        node = stack.pop()
        roles = getattr(node.call, "zf_roles", None) if node.call else None
        if roles is not None:
            found = (found & set(roles)) if declared else (found | set(roles))
            declared = True
        stack.extend(node.dependencies)
    return frozenset(found) if declared else None


def app_routes(app: FastAPI) -> list[Route]:
    out = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        for method in sorted(getattr(route, "methods", None) or []):
            if method != "HEAD":
                roles = declared_roles(dependant) if dependant is not None else None
                out.append(Route(method, getattr(route, "path", ""), dependant, roles))
    return out


def _flat(dependant: Any, attribute: str) -> list[Any]:
    found, stack = [], [dependant]
    while stack:
        node = stack.pop()
        found.extend(getattr(node, attribute))
        stack.extend(node.dependencies)
    return found


def _literal_values(annotation: Any) -> list[Any]:
    """The values of a ``Literal`` (also inside ``Optional``/``Annotated``), else []."""
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    for arg in typing.get_args(annotation):
        values = _literal_values(arg)
        if values:
            return values
    return []


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    json: Any = None
    form: dict[str, str] | None = None
    # An extra value of a choice parameter (a report's format): one identity walks it.
    variant: bool = False


@dataclass
class OrgView:
    """What the walk may fill in: one organisation's ids, its mail and its link tokens."""

    ids: dict[str, list[int]]
    versions: dict[int, int]
    mails: list[str]
    form_tokens: list[str]
    reset_tokens: list[str]


@dataclass
class Filler:
    org: OrgView
    unknown: set[str] = field(default_factory=set)
    counter: int = 0

    # -- ids ------------------------------------------------------------------------------

    def table_for(self, name: str, path: str = "") -> str | None:
        tables = self.org.ids
        if name == "record_id":
            before = path.split("/{record_id}")[0].rsplit("/", 1)[-1].replace("-", "_")
            for guess in (before, before.removesuffix("s"), before.removesuffix("es")):
                if guess in tables:
                    return guess
            return None
        if name in TABLE_OF:
            return TABLE_OF[name]
        base = name.removesuffix("_ids").removesuffix("_id")
        words = base.split("_")
        for i in range(len(words)):  # source_contact -> contact
            guess = "_".join(words[i:])
            if guess in tables:
                return guess
        matches = [t for t in tables if t.endswith("_" + base)]  # delegation -> form_delegation
        return matches[0] if len(matches) == 1 else None

    def ids_for(self, name: str, path: str = "") -> list[int]:
        table = self.table_for(name, path)
        ids = self.org.ids.get(table or "", [])
        if not ids:
            self.unknown.add(f"{name} in {path}" if path else name)
        return ids

    # -- path -----------------------------------------------------------------------------

    def path_values(self, route: Route, name: str) -> list[str]:
        literal = [
            _literal_values(p.field_info.annotation)
            for p in (_flat(route.dependant, "path_params") if route.dependant else [])
            if p.name == name
        ]
        if literal and literal[0]:
            return [str(v) for v in literal[0]]
        fixed: dict[str, list[str]] = {
            "year": [str(YEAR)],
            "lang": ["en"],
            "name": self.org.mails or ["0-00000.eml"],
            "raw": self.org.form_tokens[:1] or ["unknown-token-for-the-walk"],
            "token": self.org.reset_tokens[:1] or ["unknown-token-for-the-walk"],
            # A town of the reader's district: neither organisation of the walk is a district.
            "slug": ["walk-town"],
        }
        if name in fixed:
            return fixed[name]
        ids = self.ids_for(name, route.path)
        # Two items: one moved on (with form links and mail), one still at the start.
        return [str(i) for i in ids[: 2 if name == "item_id" else 1]]

    # -- query ----------------------------------------------------------------------------

    def query(self, route: Route) -> list[tuple[dict[str, Any], bool]]:
        base: dict[str, Any] = {}
        variants: list[tuple[str, list[Any]]] = []
        for p in _flat(route.dependant, "query_params") if route.dependant else []:
            if p.name.endswith("_id"):
                ids = self.ids_for(p.name)
                if ids:
                    base[p.name] = ids[0]
            elif p.name == "cycle":
                base[p.name] = YEAR
            elif p.name == "format":
                variants.append((p.name, _literal_values(p.field_info.annotation)))
        out = [(base, False)]
        for name, values in variants:
            out += [(base | {name: v}, True) for v in values]
        return out

    # -- bodies ---------------------------------------------------------------------------

    def body(self, route: Route, item: int | None) -> tuple[Any, dict[str, str] | None]:
        params = _flat(route.dependant, "body_params") if route.dependant else []
        forms = [p for p in params if isinstance(p.field_info, fastapi_params.Form)]
        if forms or (not params and not route.path.startswith("/api/")):
            values = {p.name: self._text(p.name, 12, 200) for p in forms}
            values |= self._form_extras(route, item)
            return None, values
        if not params:
            return ({} if route.path.startswith("/api/") else None), None
        annotation = params[0].field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            schema = annotation.model_json_schema()
            return self._example(schema, schema.get("$defs", {}), "", item), None
        return {}, None

    def _form_extras(self, route: Route, item: int | None) -> dict[str, str]:
        """Fields of the dashboard forms that read the request's form themselves."""
        if route.path.endswith("/aktion") and item is not None:
            return {"action": "defer", "reason": "Walk", "version": str(self.org.versions[item])}
        if route.path.startswith("/erstgespraech/"):
            out = {"held_on": "2026-03-02", "notify_confirmed": "1"}
            for mc, version in self.org.versions.items():
                out[f"decision_{mc}"] = "keep"
                out[f"version_{mc}"] = str(version)
            return out
        return {}

    def _text(self, name: str, low: int, high: int) -> str:
        self.counter += 1
        email = f"walk{self.counter}@walk.example.org"
        value = email if "email" in name else f"Walk {name} {self.counter}"
        return value.ljust(low, "x")[:high]

    def _example(self, schema: dict[str, Any], defs: dict[str, Any], name: str, item: Any) -> Any:
        if "$ref" in schema:
            return self._example(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name, item)
        if "anyOf" in schema:
            options = [s for s in schema["anyOf"] if s.get("type") != "null"]
            return self._example(options[0], defs, name, item) if options else None
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        special: dict[str, Callable[[], Any]] = {
            "event": lambda: "defer",
            "payload": lambda: {"reason": "Walk"},
            "version": lambda: self.org.versions.get(item, 1) if item else 1,
            "year": lambda: YEAR,
        }
        if name in special:
            return special[name]()
        kind = schema.get("type")
        if kind == "object":
            props = schema.get("properties", {})
            return {k: self._example(v, defs, k, item) for k, v in props.items()}
        if kind == "array":
            if name.endswith("_ids"):
                return self.ids_for(name)[:1]
            return [self._example(schema.get("items", {}), defs, name.removesuffix("s"), item)]
        if kind == "integer":
            if name.endswith("_id"):
                ids = self.ids_for(name)
                return ids[0] if ids else 1
            return max(int(schema.get("minimum", 1)), 1)
        if kind == "number":
            return max(float(schema.get("minimum", 1.0)), 1.0)
        if kind == "boolean":
            return False
        if schema.get("format") == "date":
            return f"{YEAR}-03-15"
        if schema.get("format") == "date-time":
            return f"{YEAR}-03-15T10:00:00+01:00"
        if "@" in schema.get("pattern", "") or "email" in name:
            return self._text("email", 0, int(schema.get("maxLength", 320)))
        return self._text(name, int(schema.get("minLength", 0)), int(schema.get("maxLength", 80)))

    # -- all of it ------------------------------------------------------------------------

    def calls(self, route: Route) -> list[Call]:
        names = route.params
        combos: list[dict[str, str]] = [{}]
        for name in names:
            values = self.path_values(route, name)
            if not values:
                return []  # nothing of this kind to fill in: reported through ``unknown``
            combos = [c | {name: v} for c in combos for v in values]
        out = []
        for combo in combos:
            path = PARAM.sub(partial(_value_of, combo), route.path)
            item = int(combo["item_id"]) if "item_id" in combo else None
            for query, variant in self.query(route):
                url = path + ("?" + urlencode(query) if query else "")
                body, form = self.body(route, item) if route.method != "GET" else (None, None)
                out.append(Call(route.method, url, body, form, variant))
        return out


def _value_of(values: dict[str, str], match: re.Match[str]) -> str:
    return values[match.group(1)]


def readable(response: Any) -> str:
    """The response as text a reader could see: body (PDF and zipped formats opened) and headers."""
    content: bytes = response.content
    if content.startswith(b"%PDF"):
        from pypdf import PdfReader

        text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)
    elif content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            text = "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    else:
        text = content.decode("utf-8", "replace")
    headers = "\n".join(f"{k}: {unquote(v)}" for k, v in response.headers.items())
    return f"{text}\n{headers}".lower()
