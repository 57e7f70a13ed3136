"""The public JSON API: catalog and postal look-ups, with Japanese errors and an OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client


def test_postal_lookup(client: Client) -> None:
    response = client.get("/api/v1/postal/１００－００１３")
    assert response.status_code == 200
    assert response.json()[0]["full"].startswith("東京都千代田区霞が関")


def test_postal_invalid_and_unknown(client: Client) -> None:
    bad = client.get("/api/v1/postal/12")
    assert bad.status_code == 400 and bad.json()["code"] == "postal.invalid"
    missing = client.get("/api/v1/postal/0000000")
    assert missing.status_code == 404 and missing.json()["message"] == "該当する住所がありません。"


@pytest.mark.django_db
def test_catalog(client: Client, procedure: Any) -> None:
    code = procedure.municipality.code
    rows = client.get(f"/api/v1/municipalities/{code}/procedures").json()
    assert [r["code"] for r in rows] == ["test-shinsei"]
    form = client.get(f"/api/v1/municipalities/{code}/procedures/test-shinsei/form").json()
    assert form["version"] == 1 and form["definition"]["title"] == "テスト申請書"
    assert client.get("/api/v1/municipalities/131016/procedures").json()["code"] == "municipality.not_found"


def test_openapi_document(client: Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/postal/{code}" in spec["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
