"""Locust users for ``bench/portal_load.py`` (resident portal under load). Not run on its own.

``bench/portal_load.py`` starts one headless locust process per phase with
``MDG_PORTAL_PHASE`` (hello | healthz | submit | status), ``MDG_PORTAL_CONFIG`` (JSON written by the
bench: procedure code, one slice of pre-made sessions per user) and ``MDG_PORTAL_OUT`` (where this file
writes raw results: every request's name, status, latency and end time, the applications created).

Users behave as a browser does, on loopback:
  * cookies: the server runs in production mode, so ``sessionid``/``csrftoken`` carry ``Secure``; the
    client sends them over loopback http as a browser would send them to the TLS proxy in front of
    gunicorn (cookie policy below). The CSRF token is the ``csrfmiddlewaretoken`` of the page's form
    (the masked token) plus the ``csrftoken`` cookie, as Django's form posts do;
  * each user connects from its own loopback address ``127.x.y.z`` (bound source address), as distinct
    residents do; the portal's per-IP submit limit is therefore not shared by all 100 users;
  * each user switches to its next pre-made account (a fresh session cookie and address) after
    ``submits_per_account`` submissions, below the portal's per-identity limit (10 per 10 minutes).
"""

from __future__ import annotations

import json
import os
import re
import time
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import gevent
from geventhttpclient import connectionpool
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser
from requests.cookies import create_cookie

PHASE = os.environ.get("MDG_PORTAL_PHASE", "hello")
CONFIG: dict[str, Any] = json.loads(open(os.environ["MDG_PORTAL_CONFIG"], encoding="utf-8").read()) if os.environ.get(
    "MDG_PORTAL_CONFIG"
) else {}
OUT = os.environ.get("MDG_PORTAL_OUT", "")

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
APP_RE = re.compile(r"/my/applications/(\d+)/$")

# ---------------------------------------------------------------- raw results, written at the end
RECORDS: list[tuple[str, int, float, float]] = []  # name, status (0 = no response), ms, end (monotonic)
CREATED: list[dict[str, Any]] = []  # applications created: id, account slot
JOURNEYS: list[float] = []  # end time of each whole submission (apply → submit → detail)
FAILURES: list[str] = []


@events.request.add_listener
def _on_request(request_type: str, name: str, response_time: float, response_length: int, response: Any = None,
                exception: Any = None, **_: Any) -> None:
    status = getattr(response, "status_code", 0) or 0
    RECORDS.append((name, int(status), float(response_time), time.monotonic()))
    if exception is not None and len(FAILURES) < 50:
        FAILURES.append(f"{name}: {exception!r}"[:300])


@events.quitting.add_listener
def _on_quit(environment: Any, **_: Any) -> None:
    if not OUT:
        return
    usage = os.times()
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump({
            "phase": PHASE, "records": RECORDS, "created": CREATED, "journeys": JOURNEYS, "failures": FAILURES,
            "client_cpu_seconds": usage.user + usage.system,
        }, fh)


# ---------------------------------------------------------------- browser-like connections
class LoopbackBrowserPolicy(DefaultCookiePolicy):
    """Send ``Secure`` cookies over loopback http (TLS ends in front of gunicorn in production)."""

    def return_ok_secure(self, cookie: Any, request: Any) -> bool:
        return True


_connect = connectionpool.ConnectionPool._connect_socket


def _bound_connect(self: Any, sock: Any, address: Any) -> Any:
    source = getattr(gevent.getcurrent(), "mdg_source_ip", None)
    if source:
        sock.bind((source, 0))
    return _connect(self, sock, address)


connectionpool.ConnectionPool._connect_socket = _bound_connect  # type: ignore[method-assign]

_SLOTS = iter(range(10**6))


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    """The step form is ``enctype="multipart/form-data"``: post it the way the browser does."""
    boundary = "----MadoguchiBench" + os.urandom(8).hex()
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class PortalResident(FastHttpUser):
    wait_time = constant(0)  # closed loop: the next request as soon as the last one answered
    network_timeout = 120.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        self.slot = next(_SLOTS)  # this user's index: its accounts are CONFIG["users"][slot]
        users = CONFIG.get("users", [])
        if PHASE in {"submit", "status"} and self.slot >= len(users):
            raise StopUser()
        self.accounts: list[dict[str, Any]] = users[self.slot] if self.slot < len(users) else []
        self.account_index = -1
        self.submits_on_account = 0
        self.status_items: list[tuple[int, int]] = []  # (account index, application id)
        self.status_next = 0
        self.client.cookiejar.set_policy(LoopbackBrowserPolicy())
        if PHASE == "status":
            created = CONFIG.get("created", {}).get(str(self.slot), [])
            self.status_items = [(int(a), int(i)) for a, i in created]
            if not self.status_items:
                raise StopUser()
        self._use_account(0 if self.accounts else -1)

    # a new "browser": fresh connections from the account's own address, only its session cookie
    def _use_account(self, index: int) -> None:
        if index == self.account_index:
            return
        self.client.client.close()
        self.client.cookiejar.clear()
        if index < 0:
            gevent.getcurrent().mdg_source_ip = CONFIG.get("hello_ips", ["127.0.0.1"])[  # type: ignore[attr-defined]
                self.slot % max(1, len(CONFIG.get("hello_ips", [])) or 1)
            ]
        else:
            account = self.accounts[index % len(self.accounts)]
            gevent.getcurrent().mdg_source_ip = account["ip"]  # type: ignore[attr-defined]
            self.client.cookiejar.set_cookie(create_cookie(CONFIG["session_cookie"], account["session"],
                                                           domain=CONFIG["cookie_domain"], path="/"))
        self.account_index = index
        self.submits_on_account = 0

    def _csrf(self, html: str) -> str:
        match = CSRF_RE.search(html)
        if match is None:
            raise RuntimeError("no csrfmiddlewaretoken in the page")
        return match.group(1)

    def _post(self, path: str, data: dict[str, str], name: str, referer: str) -> Any:
        return self.client.post(path, data=data, name=name, allow_redirects=False,
                                headers={"Referer": f"{self.host}{referer}", "Origin": self.host})

    @task
    def run_phase(self) -> None:
        if PHASE == "hello":
            self.client.get(CONFIG.get("hello_path", "/i18n/setlang/"), name="hello", allow_redirects=False)
        elif PHASE == "healthz":
            self.client.get("/healthz", name="healthz")
        elif PHASE == "submit":
            self.submission()
        else:
            self.status_check()

    # ------------------------------------------------------------ (b) one whole submission
    def submission(self) -> None:
        if self.submits_on_account >= CONFIG["submits_per_account"]:
            if self.account_index + 1 >= len(self.accounts):
                if len(FAILURES) < 50:
                    FAILURES.append(f"user {self.slot}: out of accounts")
                raise StopUser()
            self._use_account(self.account_index + 1)
        code = CONFIG["procedure"]
        page = f"/procedures/{code}/apply/"
        with self.client.get(page, name="GET apply page", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"status {r.status_code}")
                return
            token = self._csrf(r.text)
        r = self._post(page, {"csrfmiddlewaretoken": token}, "POST apply (draft)", page)
        if r.status_code != 302 or "/step/1/" not in r.headers.get("Location", ""):
            return
        location = r.headers["Location"]
        for n, fields in enumerate(CONFIG["steps"], start=1):
            step = location
            with self.client.get(step, name=f"GET step {n}", catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"status {r.status_code}")
                    return
                token = self._csrf(r.text)
            body, content_type = multipart({"csrfmiddlewaretoken": token, **fields, "action": "next"})
            with self.client.post(step, data=body, name=f"POST step {n}", allow_redirects=False,
                                  catch_response=True, headers={"Referer": f"{self.host}{step}",
                                                                "Origin": self.host, "Content-Type": content_type}) as r:
                if r.status_code != 302:
                    r.failure(f"status {r.status_code} (form refused?)")
                    return
                location = r.headers.get("Location", "")
        if not location.endswith("/review/"):
            return
        with self.client.get(location, name="GET review", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"status {r.status_code}")
                return
            token = self._csrf(r.text)
        submit = location.replace("/review/", "/submit/")
        with self.client.post(submit, data={"csrfmiddlewaretoken": token}, name="POST submit",
                              allow_redirects=False, catch_response=True,
                              headers={"Referer": f"{self.host}{location}", "Origin": self.host}) as r:
            match = APP_RE.search(r.headers.get("Location", "")) if r.status_code == 302 else None
            if match is None:
                r.failure(f"no application: status {r.status_code} → {r.headers.get('Location', '')}")
                return
        app_id = int(match.group(1))
        self.submits_on_account += 1
        CREATED.append({"slot": self.slot, "account": self.account_index, "id": app_id})
        self.client.get(f"/my/applications/{app_id}/", name="GET detail (after submit)")
        JOURNEYS.append(time.monotonic())

    # ------------------------------------------------------------ (c) マイページ
    def status_check(self) -> None:
        account, app_id = self.status_items[self.status_next % len(self.status_items)]
        self.status_next += 1
        self._use_account(account)
        self.client.get("/my/", name="GET /my/")
        self.client.get(f"/my/applications/{app_id}/", name="GET /my/applications/<id>/")
