"""方式3: client_secret_jwt token endpoint, cursor paging, ack; and the same applications by methods 2, 3
and 4 without duplicates after a forced retry."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from madoguchi.applications.models import Application
from madoguchi.core.models import AuditEvent
from madoguchi.core.scope import Actor
from madoguchi.handoff import services
from madoguchi.handoff.models import HandoffAccessToken, HandoffJob, HandoffTarget, JobState

pytestmark = pytest.mark.django_db
TOKEN_URL = "http://testserver/api/handoff/v1/token"


def assertion(client_id: str, secret: str, **over: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
    } | over
    return jwt.encode(claims, secret, algorithm="HS256")


def post_token(client: Any, jwt_: str) -> Any:
    return client.post(
        "/api/handoff/v1/token",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": services.ASSERTION_TYPE,
            "client_assertion": jwt_,
        },
    )


@pytest.fixture
def registered(targets: dict[str, HandoffTarget]) -> tuple[str, str]:
    c, secret = services.handoff_client_create(target=targets["pull"], actor=Actor.system("t"))
    return c.client_id, secret


@pytest.fixture
def bearer(client: Any, registered: tuple[str, str]) -> dict[str, str]:
    response = post_token(client, assertion(*registered))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    return {"HTTP_AUTHORIZATION": f"Bearer {body['access_token']}"}


class TestToken:
    def test_only_a_hash_of_the_token_is_stored(self, client: Any, registered: tuple[str, str]) -> None:
        token = post_token(client, assertion(*registered)).json()["access_token"]
        stored = HandoffAccessToken.objects.get()
        assert token not in stored.token_hash and len(stored.token_hash) == 64

    @pytest.mark.parametrize(
        ("over", "code"),
        [
            ({"aud": "https://elsewhere.example/token"}, "handoff.auth.audience"),
            ({"exp": int(time.time()) - 600}, "handoff.auth.expired"),
            ({"exp": int(time.time()) + 3600}, "handoff.auth.lifetime"),
            ({"sub": "someone-else"}, "handoff.auth.subject"),
        ],
    )
    def test_bad_assertions_are_refused(
        self, client: Any, registered: tuple[str, str], over: dict, code: str
    ) -> None:
        response = post_token(client, assertion(*registered, **over))
        assert response.status_code == 401
        assert response.json()["code"] == code and response.json()["error"] == "invalid_client"

    def test_replayed_jti_and_wrong_secret_are_refused(
        self, client: Any, registered: tuple[str, str]
    ) -> None:
        a = assertion(*registered)
        assert post_token(client, a).status_code == 200
        replay = post_token(client, a)
        assert replay.status_code == 401 and replay.json()["code"] == "handoff.auth.replayed"
        wrong = post_token(client, assertion(registered[0], "not-the-secret-but-long-enough-for-hs256-ok"))
        assert wrong.json()["code"] == "handoff.auth.signature"
        none_alg = jwt.encode({"iss": registered[0]}, None, algorithm="none")
        assert post_token(client, none_alg).json()["code"] == "handoff.auth.alg"

    def test_items_need_a_valid_token(self, client: Any) -> None:
        assert client.get("/api/handoff/v1/items").status_code == 401
        assert client.get("/api/handoff/v1/items", HTTP_AUTHORIZATION="Bearer nope").status_code == 401

    def test_openapi_is_published(self, client: Any) -> None:
        schema = client.get("/api/handoff/v1/openapi.json").json()
        assert {"/api/handoff/v1/token", "/api/handoff/v1/items", "/api/handoff/v1/acks"} <= set(
            schema["paths"]
        )


class TestPull:
    def test_cursor_ack_and_at_least_once(
        self,
        client: Any,
        bearer: dict[str, str],
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
    ) -> None:
        for n in ("山田 太郎", "佐藤 花子", "鈴木 一郎"):
            make_approved(n)
        services.handoff_scan()
        page1 = client.get("/api/handoff/v1/items?limit=2", **bearer).json()
        assert len(page1["items"]) == 2 and page1["has_more"]
        assert "mynumber" not in page1["items"][0]["data"]  # secrets stay unless the target is allowed
        page2 = client.get(f"/api/handoff/v1/items?limit=2&cursor={page1['next_cursor']}", **bearer).json()
        assert len(page2["items"]) == 1 and not page2["has_more"]
        keys = [i["idempotency_key"] for i in page1["items"] + page2["items"]]
        ack = client.post(
            "/api/handoff/v1/acks", {"keys": [*keys[:2], "bogus"]}, content_type="application/json", **bearer
        )
        assert ack.json() == {"acked": keys[:2], "already": [], "unknown": ["bogus"]}
        again = client.post(
            "/api/handoff/v1/acks", {"keys": keys[:1]}, content_type="application/json", **bearer
        )
        assert again.json()["already"] == keys[:1]
        # starting over: only the unacked item comes back, with the same key (at-least-once)
        redo = client.get("/api/handoff/v1/items", **bearer).json()
        assert [i["idempotency_key"] for i in redo["items"]] == keys[2:]
        assert (
            client.get("/api/handoff/v1/items?cursor=zzz", **bearer).json()["code"]
            == "handoff.cursor_invalid"
        )

    def test_mynumber_only_when_allowed_and_audited(
        self,
        client: Any,
        bearer: dict[str, str],
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
    ) -> None:
        HandoffTarget.objects.filter(pk=targets["pull"].pk).update(include_mynumber=True)
        make_approved()
        services.handoff_scan()
        item = client.get("/api/handoff/v1/items", **bearer).json()["items"][0]
        assert item["data"]["mynumber"] == "123456789018"
        assert AuditEvent.objects.filter(action="handoff.pull.mynumber").count() == 1


def test_same_applications_by_methods_2_3_4_without_duplicates_after_forced_retry(
    client: Any,
    bearer: dict[str, str],
    make_approved: Callable[..., Application],
    targets: dict[str, HandoffTarget],
    procedure: Any,
    tmp_path: Path,
) -> None:
    """The 'done when' of ③-5: every method delivers each application once per key, even after a
    forced retry of one job per method and a sweep; a downstream keyed on the idempotency key ends up
    with exactly the applications, once each."""
    from tests.handoff.test_outbox import export, fixed_keys, rpa_keys

    apps = [make_approved(n) for n in ("山田 太郎", "佐藤 花子", "鈴木 一郎", "髙橋 健")]
    services.handoff_scan()
    downstream: dict[str, list[str]] = {"rpa": [], "pull": [], "bulk": []}

    downstream["rpa"] += rpa_keys(export(targets["rpa"], procedure, tmp_path, "r1.csv")[1])
    downstream["bulk"] += fixed_keys(export(targets["bulk"], procedure, tmp_path, "b1.dat")[1])
    items = client.get("/api/handoff/v1/items", **bearer).json()["items"]
    downstream["pull"] += [i["idempotency_key"] for i in items]
    client.post(
        "/api/handoff/v1/acks",
        {"keys": [i["idempotency_key"] for i in items[:3]]},
        content_type="application/json",
        **bearer,
    )

    # forced retries by staff: one job per method
    retried = apps[1]
    for method in ("rpa", "bulk", "pull"):
        job = HandoffJob.objects.get(
            application=retried if method != "pull" else apps[3], target=targets[method]
        )
        services.handoff_job_resend(job=job, actor=Actor.system("t"))
    with pytest.raises(services.HandoffError):  # acked: never re-delivered
        services.handoff_job_resend(
            job=HandoffJob.objects.get(application=apps[0], target=targets["pull"]), actor=Actor.system("t")
        )

    downstream["rpa"] += rpa_keys(export(targets["rpa"], procedure, tmp_path, "r2.csv")[1])
    downstream["bulk"] += fixed_keys(export(targets["bulk"], procedure, tmp_path, "b2.dat")[1])
    items2 = client.get("/api/handoff/v1/items", **bearer).json()["items"]
    downstream["pull"] += [i["idempotency_key"] for i in items2]
    client.post(
        "/api/handoff/v1/acks",
        {"keys": [i["idempotency_key"] for i in items2]},
        content_type="application/json",
        **bearer,
    )
    assert client.get("/api/handoff/v1/items", **bearer).json()["items"] == []

    for method, keys in downstream.items():
        expected = set(
            HandoffJob.objects.filter(target=targets[method]).values_list("idempotency_key", flat=True)
        )
        assert set(keys) == expected and len(expected) == 4, method  # one record per application downstream
    # each forced retry re-sent the same key, and only that key
    assert downstream["rpa"][4:] == [
        HandoffJob.objects.get(application=retried, target=targets["rpa"]).idempotency_key
    ]
    assert downstream["bulk"][4:] == [
        HandoffJob.objects.get(application=retried, target=targets["bulk"]).idempotency_key
    ]
    assert downstream["pull"][4:] == [
        HandoffJob.objects.get(application=apps[3], target=targets["pull"]).idempotency_key
    ]
    assert set(HandoffJob.objects.filter(target=targets["pull"]).values_list("state", flat=True)) == {
        JobState.DONE
    }
    rows = list(csv.reader(io.StringIO((tmp_path / "r2.csv").read_bytes().decode("cp932"), newline="")))
    assert rows[1][1] == retried.reception_number  # the same 受付番号: never a second one
