"""/opendata/: the public catalogue of published datasets (no login; aggregates only)."""

from __future__ import annotations

import json

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from madoguchi.core.csvexport import csv_stream
from madoguchi.core.models import Municipality
from madoguchi.dx import opendata
from madoguchi.dx.models import Dataset


def catalogue(request: HttpRequest) -> HttpResponse:
    datasets = list(
        Dataset.objects.filter(published=True)
        .select_related("municipality")
        .order_by("municipality__code", "kind")
    )
    return render(request, "dx/opendata_catalogue.html", {"datasets": datasets})


def _municipality(code: str) -> Municipality:
    municipality = Municipality.objects.filter(code=code).first()
    if municipality is None:
        raise Http404
    return municipality


def catalog_json(request: HttpRequest, code: str) -> JsonResponse:
    municipality = _municipality(code)
    datasets = list(Dataset.objects.filter(municipality=municipality, published=True).order_by("kind"))
    body = opendata.dcat(municipality, datasets, request.build_absolute_uri("/").rstrip("/"))
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False, "indent": 1})


def download(request: HttpRequest, code: str, kind: str, ext: str) -> HttpResponseBase:
    dataset = (
        Dataset.objects.filter(municipality=_municipality(code), kind=kind, published=True)
        .select_related("municipality")
        .first()
    )
    if dataset is None or ext not in ("csv", "json"):
        raise Http404
    filename = f"{code}_{kind}.{ext}"
    if ext == "json":
        response: HttpResponseBase = HttpResponse(
            json.dumps(
                {"title": dataset.title, "license": dataset.license, "records": opendata.records(dataset)},
                ensure_ascii=False,
            ),
            content_type="application/json; charset=utf-8",
        )
    else:
        response = StreamingHttpResponse(
            csv_stream(
                opendata.COLUMNS[dataset.kind], ([str(v) for v in row] for row in opendata.rows(dataset))
            ),
            content_type="text/csv; charset=utf-8",
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Access-Control-Allow-Origin"] = "*"  # open data: anyone may read it from anywhere
    return response
