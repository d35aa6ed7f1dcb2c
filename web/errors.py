"""Clear answers to malformed callback requests: 400 with a short JSON message, never a 500 with a traceback.

A POST to /_dash-update-component is checked before Dash sees it (``check_callback_request``, after the
login gate): the body must be a JSON object naming a server-side callback, with the outputs, inputs, state
and changed-property ids that callback has. Dash would otherwise fail with a KeyError or a TypeError deep in
its dispatcher, or call the callback with shifted arguments. The callbacks check their values themselves
(web/inputs.py) and raise ``BadInput``, answered here with 400 too.

Anything else that escapes a callback is a bug: it is logged with its traceback and answered with a plain
500 JSON message. (Dash's ``on_error`` hook is not used: it sees only exceptions raised inside a callback, not
the envelope errors Dash hits before calling it, and it can only answer "no update" or some output values,
which the browser cannot tell from a callback with nothing to say.) A request for a bundle Dash does not serve
(``/_dash-component-suites/<unknown>/…``, open to the anonymous like every static file) is a quiet 404. Requests
to other paths keep Flask's own error handling.

    from web import errors
    errors.register(server)  # after auth.register(server): the gate answers the anonymous first
"""

from __future__ import annotations

import json
import logging

from dash.exceptions import DependencyException
from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from web.inputs import BadInput

log = logging.getLogger(__name__)

CALLBACK_PATH = "/_dash-update-component"
MAX_MESSAGE = 300


class BadEnvelope(ValueError):
    """The request around the values is malformed; the message says how."""


def error_response(status: int, message: str) -> Response:
    """A JSON error: {"error": message}, the message cut to MAX_MESSAGE characters."""
    body = json.dumps({"error": message[:MAX_MESSAGE]}, ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json")


def _split_output(key: str) -> list[dict]:
    """The outputs a callback_map key names ("id.prop" or "..id.prop...id.prop.."), hash suffixes dropped."""
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    outputs = []
    for part in parts:
        ident, _, prop = part.rpartition(".")
        outputs.append({"id": ident, "property": prop.split("@")[0]})
    return outputs


def _is_pattern(ident: str) -> bool:
    return ident.startswith("{")


def _check_dependency(item, spec: dict, where: str) -> None:
    """One input, state or output item against its spec: {"id", "property"[, "value"]}."""
    if _is_pattern(spec["id"]):  # pattern-matching: a list of items (ALL/ALLSMALLER) or one (MATCH)
        items = item if isinstance(item, list) else [item]
        if not all(isinstance(i, dict) and isinstance(i.get("property"), str) and "id" in i for i in items):
            raise BadEnvelope(f"{where} must name a component and a property")
        return
    if not isinstance(item, dict):
        raise BadEnvelope(f"{where} must be an object")
    prop, expected = item.get("property"), spec["property"].split("@")[0]  # "@hash": allow_duplicate outputs
    if item.get("id") != spec["id"] or not isinstance(prop, str) or prop.split("@")[0] != expected:
        raise BadEnvelope(f"{where} must be {spec['id']}.{expected}")


def _check_list(items, specs: list[dict], name: str) -> None:
    if not isinstance(items, list) or len(items) != len(specs):
        raise BadEnvelope(f"{name} must be a list of {len(specs)}")
    for index, (item, spec) in enumerate(zip(items, specs, strict=True)):  # lengths checked above
        _check_dependency(item, spec, f"{name}[{index}]")


def check_envelope(body, callback_map: dict) -> None:
    """Raise BadEnvelope unless ``body`` is a well-formed request for one of the server-side callbacks."""
    if not isinstance(body, dict):
        raise BadEnvelope("the body must be a JSON object (Content-Type: application/json)")
    output = body.get("output")
    if not isinstance(output, str):
        raise BadEnvelope("output must name a callback")
    spec = callback_map.get(output)
    if spec is None or "callback" not in spec:
        raise BadEnvelope("output names no server-side callback")
    expected = _split_output(output)
    outputs = body.get("outputs")
    if output.startswith(".."):
        _check_list(outputs, expected, "outputs")
    else:
        _check_dependency(outputs, expected[0], "outputs")
    _check_list(body.get("inputs"), spec["inputs"], "inputs")
    _check_list(body.get("state", []), spec["state"], "state")
    changed = body.get("changedPropIds", [])
    known = {f"{i['id']}.{i['property']}" for i in spec["inputs"]}
    patterns = any(_is_pattern(i["id"]) for i in spec["inputs"])
    if not isinstance(changed, list) or not all(isinstance(c, str) and (patterns or c in known) for c in changed):
        raise BadEnvelope("changedPropIds must list inputs of the callback")


def _callback_map() -> dict:
    return current_app.extensions["dash_app"].callback_map


def _body():
    """The request's JSON (None when it is not JSON); BadEnvelope when it is nested too deeply to parse."""
    try:
        return request.get_json(silent=True)
    except RecursionError:  # silent=True covers only ValueError
        raise BadEnvelope("the body is nested too deeply") from None


def check_callback_request():
    """Before a callback request reaches Dash: answer 400 when its envelope is malformed."""
    if request.path != CALLBACK_PATH or request.method != "POST":
        return None
    try:
        check_envelope(_body(), _callback_map())
    except BadEnvelope as exc:
        return error_response(400, f"malformed callback request: {exc}")
    return None


def _bad_input(exc: BadInput):
    return error_response(400, f"bad callback input: {exc}")


def _unknown_bundle(_exc: DependencyException):
    """Dash raises this for a component-suite path it did not register: a wrong address, not an error."""
    return Response("not found\n", status=404, mimetype="text/plain")


def _unexpected(exc: Exception):
    """An exception no other handler took: on the callback path a clear JSON answer, elsewhere Flask's own."""
    if isinstance(exc, HTTPException):
        return exc
    if request.path != CALLBACK_PATH:
        raise exc  # Flask logs it and answers 500 (or, when testing, lets it through) as before
    try:  # a malformed envelope can trip code that runs before the check (the gate reads "output")
        body = _body()
        check_envelope(body, _callback_map())
    except BadEnvelope as bad:
        return error_response(400, f"malformed callback request: {bad}")
    except Exception:  # noqa: BLE001 - the answer below stands whatever the check hit
        body = None
    output = body.get("output") if isinstance(body, dict) else None
    log.error("callback %s failed", output[:200] if isinstance(output, str) else "?", exc_info=exc)
    return error_response(500, "internal error in a callback; the server log has the details")


def register(server) -> None:
    """The envelope check and the error answers on the Flask server (call after ``auth.register``)."""
    server.before_request(check_callback_request)
    server.register_error_handler(BadInput, _bad_input)
    server.register_error_handler(DependencyException, _unknown_bundle)
    server.register_error_handler(Exception, _unexpected)
