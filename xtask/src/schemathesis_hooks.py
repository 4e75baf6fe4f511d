"""Schemathesis hooks for `cargo xtask api-check` (api_check.rs loads them
through SCHEMATHESIS_HOOKS). They give a call what a real caller has, so
every operation's success is reached, not only its refusals, and note each
answer's status for api_check.rs to judge. The API_CHECK_* variables are
the run's tokens, ids and files. Each refusal these hooks steer around is
tested in server/tests/openapi.rs."""

import json
import os
import urllib.request

import schemathesis

COORDINATOR = os.environ["API_CHECK_COORDINATOR"]
OFFICIAL = os.environ["API_CHECK_OFFICIAL"]
SERVER = os.environ["API_CHECK_SERVER"]
COMPOUND = os.environ["API_CHECK_COMPOUND"]
STATUSES = os.environ["API_CHECK_STATUSES"]

# A roster as an office types one, of a door the run has not stored (any
# bytes are a valid body to the document; few are a roster).
ROSTER = "楼栋,单元,门牌号,户主\n2,1,201,李四\n".encode()


def is_roster(ctx):
    return ctx.operation is not None and ctx.operation.path.endswith("/roster")


@schemathesis.hook
def map_query(ctx, query):
    """The roster's name says its format: a CSV, as ROSTER is."""
    if is_roster(ctx) and isinstance(query, dict) and isinstance(query.get("file"), str):
        query["file"] = "名册.csv"
    return query


@schemathesis.hook
def map_body(ctx, body):
    """A roster upload sends ROSTER. A download form carries the device
    token in its body (a browser's form submit cannot set a header): the
    real one, as the app's download button fills it in."""
    if is_roster(ctx):
        return ROSTER
    if isinstance(body, dict) and isinstance(body.get("token"), str):
        district = ctx.operation is not None and ctx.operation.path.startswith("/api/districts/")
        body["token"] = OFFICIAL if district else COORDINATOR
    return body


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """The compound's help switch is itself an operation under test, and
    the run turns it off at times; a resident's request is sent with the
    switch on, as a resident meets the form only then."""
    if case.method == "POST" and case.path.startswith("/api/public/help/"):
        request = urllib.request.Request(
            f"{SERVER}/api/compounds/{COMPOUND}/help",
            data=json.dumps({"enabled": True}).encode(),
            method="PUT",
            headers={"Authorization": f"Bearer {COORDINATOR}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()


@schemathesis.hook
def after_call(ctx, case, response):
    """One line per answer: which operation, which status."""
    with open(STATUSES, "a", encoding="utf-8") as out:
        line = {"operation": f"{case.method} {case.path}", "status": response.status_code}
        out.write(json.dumps(line) + "\n")
