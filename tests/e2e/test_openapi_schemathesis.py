"""Schemathesis against a live `scimhub serve`: every operation of `/api/openapi.json`
(operator, organisation and integration APIs) called with inputs generated from the
document, each answer checked: never a 500, its status documented, its body conforming to
the documented schema. A small derandomized budget keeps the run well under two minutes.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from scimhub.config import Settings
from tests.e2e.conftest import scimhub, serve

# More locally: SCIMHUB_FUZZ_EXAMPLES=200 (docs/operations.md, "API description").
EXAMPLES = int(os.environ.get("SCIMHUB_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@dataclass(frozen=True)
class Live:
    url: str
    org_id: str
    admin: str
    operator: str

    def created(self, path: str, body: dict[str, str], *, operator: bool = False) -> str:
        """The id of what a POST to `path` made."""
        token = self.operator if operator else self.admin
        r = httpx.post(
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            trust_env=False,
        )
        assert r.status_code == 201, r.text
        made: str = r.json()["id"]
        return made

    def throwaway_org(self) -> str:
        """An organisation to delete: never the one the other operations act in."""
        return self.created("/api/v1/orgs", {"name": "throwaway"}, operator=True)

    def webhook(self) -> str:
        # loopback, where nothing listens: a test message or a delivery fails at once
        url = "https://127.0.0.1:9/hook"
        return self.created(f"/api/v1/orgs/{self.org_id}/webhooks", {"url": url})

    def attribute(self) -> str:
        n = next(_names)
        schema = "urn:ietf:params:scim:schemas:extension:Fuzzed:2.0:User"
        body = {"schema": schema, "name": f"attribute{n}"}
        return self.created(f"/api/v1/orgs/{self.org_id}/attributes", body)


@pytest.fixture(scope="module")
def live(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    env = {
        **os.environ,
        "SCIMHUB_DATA_DIR": str(tmp_path_factory.mktemp("openapi")),
        "SCIMHUB_WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver below is on loopback
    }
    if settings.database_url:
        env["SCIMHUB_DATABASE_URL"] = settings.database_url
    with serve(env, org_name="Fuzzed", token_kind="admin") as (url, org_id, admin):
        operator = json.loads(scimhub("token", "create", "--operator", "--json", env=env))
        yield Live(url, org_id, admin, operator["token"])


_names = itertools.count()


def _prepare(case: Case[Any], live: Live, kept: dict[str, str]) -> dict[str, str]:
    """The credential the operation takes, and what it acts on: the fuzzed organisation
    and resources made in it, so that the operations reach past authentication and lookup
    (a fresh one for a DELETE, so the others keep theirs)."""
    path, params = case.operation.path, case.path_parameters
    deletes = case.method.upper() == "DELETE"
    if params is not None and "org_id" in params:
        deletes_org = deletes and path == "/api/v1/orgs/{org_id}"
        params["org_id"] = live.throwaway_org() if deletes_org else live.org_id
    for name, make in (("endpoint_id", live.webhook), ("attribute_id", live.attribute)):
        if params is not None and name in params:
            params[name] = make() if deletes else kept.setdefault(name, make())
    if path.startswith("/extIntegration/azureAD/consent"):
        return {}
    organisation_api = path.startswith("/extIntegration/") or any(
        path.startswith(f"/api/v1/orgs/{{org_id}}/{part}")
        for part in ("events", "webhooks", "attributes", "deleted-", "ldap")
    )
    return {"Authorization": f"Bearer {live.admin if organisation_api else live.operator}"}


def _fuzz(
    operation: APIOperation[Any, Any, Any, Any],
    live: Live,
    seen: Counter[int],
    kept: dict[str, str],
) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    # inputs that fit the document, and inputs that do not (each must be refused, not 500)
    @given(case=operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE))
    def run(case: Case[Any]) -> None:
        headers = _prepare(case, live, kept)
        response = case.call(base_url=live.url, headers=headers, timeout=30)
        seen[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()


def test_every_operation_conforms_and_no_input_is_a_server_error(live: Live) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/api/openapi.json")
    started, failures, operations = time.monotonic(), [], 0
    statuses: dict[str, Counter[int]] = {}
    kept: dict[str, str] = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document loads
        operation = result.ok()
        operations += 1
        try:
            seen = statuses[f"{operation.method.upper()} {operation.path}"] = Counter()
            _fuzz(operation, live, seen, kept)
        except Exception as exc:  # every operation's finding, not just the first
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    print(*(f"{name}: {dict(seen)}" for name, seen in statuses.items()), sep="\n")
    assert operations > 60
    # past authentication: most operations answered something else than 401 and 404
    reached = [name for name, seen in statuses.items() if set(seen) - {401, 404}]
    assert len(reached) >= 45, statuses
    assert not failures, "\n\n".join(failures)
    if EXAMPLES <= 12:  # the CI budget
        assert time.monotonic() - started < 120
