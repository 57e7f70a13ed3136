"""Locust users for ``bench/portal_load.py`` (resident portal under load). Not run on its own.

``bench/portal_load.py`` starts one headless locust process per phase with
``MDG_PORTAL_PHASE`` (hello | healthz | submit | submit_think | journey | status | status_think),
``MDG_PORTAL_THINK`` (seconds; > 0: each user waits between(think/2, 1.5×think) between requests, else
none), ``MDG_PORTAL_CONFIG`` (JSON written by the bench: procedure code, per user its pre-made sessions
and, for the submit phases, complete drafts) and ``MDG_PORTAL_OUT`` (where this file writes raw results:
every request's name, status, latency and end time, the applications created).

Users behave as a browser does, on loopback:
  * cookies: the server runs in production mode, so ``sessionid``/``csrftoken`` carry ``Secure``; the
    client sends them over loopback http as a browser would send them to the TLS proxy in front of
    gunicorn (cookie policy below). The CSRF token is the ``csrfmiddlewaretoken`` of the page's form
    (the masked token) plus the ``csrftoken`` cookie, as Django's form posts do;
  * each user connects from its own loopback address ``127.x.y.z`` (bound source address), as distinct
    residents do; the portal's per-IP submit limit is therefore not shared by all 100 users;
  * each user switches to its next pre-made account (a fresh session cookie and address) after
    ``submits_per_account`` submissions, below the portal's per-identity limit (10 per 10 minutes).

Phases:
  * submit / submit_think: one request per iteration, ``POST /drafts/<token>/submit/`` of the user's next
    complete draft (made by the bench through ``draft_start``/``draft_save``), with the CSRF cookie and
    masked token the account's "browser" got from the review page before the phase (bench setup);
  * journey: the whole wizard per iteration (apply → steps → review → submit → detail, 9 requests);
  * status / status_think: ``GET /my/`` and ``GET /my/applications/<id>/`` alternately, one per iteration.
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
from locust import FastHttpUser, between, constant, events, task
from locust.exception import StopUser
from requests.cookies import create_cookie

PHASE = os.environ.get("MDG_PORTAL_PHASE", "hello")
CONFIG: dict[str, Any] = json.loads(open(os.environ["MDG_PORTAL_CONFIG"], encoding="utf-8").read()) if os.environ.get(
    "MDG_PORTAL_CONFIG"
) else {}
OUT = os.environ.get("MDG_PORTAL_OUT", "")
THINK = float(os.environ.get("MDG_PORTAL_THINK", "0") or 0)

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
APP_RE = re.compile(r"/my/applications/(\d+)/$")

# ---------------------------------------------------------------- raw results, written at the end
RECORDS: list[tuple[str, int, float, float]] = []  # name, status (0 = no response), ms, end (monotonic)
CREATED: list[dict[str, Any]] = []  # applications created: id, account slot
JOURNEYS: list[float] = []  # end time of each whole submission (apply → submit → detail)
FAILURES: list[str] = []
OUT_OF_DRAFTS: list[int] = []  # users of a submit phase that used all their drafts before the end


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
            "out_of_drafts": len(OUT_OF_DRAFTS),
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
    # closed loop (next request as soon as the last one answered), or a resident's pace
    wait_time = between(THINK / 2, THINK * 1.5) if THINK > 0 else constant(0)
    network_timeout = 120.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        self.slot = next(_SLOTS)  # this user's index: its accounts are CONFIG["users"][slot]
        users = CONFIG.get("users", [])
        self.submit_accounts: list[dict[str, Any]] = []
        if PHASE.startswith("submit"):
            groups = CONFIG.get("submit_users", {}).get(PHASE, [])
            if self.slot >= len(groups):
                raise StopUser()
            self.submit_accounts = groups[self.slot]
            self.submit_next = 0  # index over all drafts of this user's accounts
        if PHASE in {"journey", "status", "status_think"} and self.slot >= len(users):
            raise StopUser()
        self.accounts: list[dict[str, Any]] = users[self.slot] if self.slot < len(users) else []
        self.account_index = -1
        self.current: dict[str, Any] | None = None
        self.submits_on_account = 0
        self.status_items: list[tuple[dict[str, Any], int]] = []  # (account, application id)
        self.status_next = 0
        self.client.cookiejar.set_policy(LoopbackBrowserPolicy())
        if PHASE.startswith("status"):
            created = CONFIG.get("created", {}).get(str(self.slot), [])
            browsers: dict[str, dict[str, Any]] = {}  # one "browser" per account, shared by its applications
            self.status_items = [(browsers.setdefault(a["session"], {"session": a["session"], "ip": a["ip"]}), int(i))
                                 for a, i in created]
            if not self.status_items:
                raise StopUser()
            self._browser(self.status_items[0][0])
        elif PHASE == "journey":
            self._use_account(0)
        elif not PHASE.startswith("submit"):
            gevent.getcurrent().mdg_source_ip = CONFIG.get("hello_ips", ["127.0.0.1"])[  # type: ignore[attr-defined]
                self.slot % max(1, len(CONFIG.get("hello_ips", [])) or 1)
            ]

    # a new "browser": fresh connections from the account's own address, only its cookies
    def _browser(self, account: dict[str, Any]) -> None:
        if account is self.current:
            return
        self.client.client.close()
        self.client.cookiejar.clear()
        gevent.getcurrent().mdg_source_ip = account["ip"]  # type: ignore[attr-defined]
        self.client.cookiejar.set_cookie(create_cookie(CONFIG["session_cookie"], account["session"],
                                                       domain=CONFIG["cookie_domain"], path="/"))
        if account.get("csrf_cookie"):
            self.client.cookiejar.set_cookie(create_cookie(CONFIG["csrf_cookie"], account["csrf_cookie"],
                                                           domain=CONFIG["cookie_domain"], path="/"))
        self.current = account

    def _use_account(self, index: int) -> None:
        if index == self.account_index:
            return
        self._browser(self.accounts[index % len(self.accounts)])
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
        elif PHASE.startswith("submit"):
            self.submit_only()
        elif PHASE == "journey":
            self.submission()
        else:
            self.status_check()

    # ------------------------------------------------------------ (b) the submit request alone
    def submit_only(self) -> None:
        per = CONFIG["submits_per_account"]
        k = self.submit_next
        if k >= len(self.submit_accounts) * per:
            OUT_OF_DRAFTS.append(self.slot)
            raise StopUser()
        self.submit_next += 1
        account = self.submit_accounts[k // per]
        self._browser(account)
        token = account["drafts"][k % per]
        with self.client.post(f"/drafts/{token}/submit/", data={"csrfmiddlewaretoken": account["csrf_token"]},
                              name="POST submit", allow_redirects=False, catch_response=True,
                              headers={"Referer": f"{self.host}/drafts/{token}/review/", "Origin": self.host}) as r:
            match = APP_RE.search(r.headers.get("Location", "")) if r.status_code == 302 else None
            if match is None:
                r.failure(f"no application: status {r.status_code} → {r.headers.get('Location', '')}")
                return
        CREATED.append({"slot": self.slot, "session": account["session"], "ip": account["ip"],
                        "id": int(match.group(1)), "draft": token})

    # ------------------------------------------------------------ (info) one whole journey
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
        account = self.accounts[self.account_index % len(self.accounts)]
        CREATED.append({"slot": self.slot, "session": account["session"], "ip": account["ip"], "id": app_id})
        self.client.get(f"/my/applications/{app_id}/", name="GET detail (after submit)")
        JOURNEYS.append(time.monotonic())

    # ------------------------------------------------------------ (c) マイページ, one request per iteration
    def status_check(self) -> None:
        account, app_id = self.status_items[(self.status_next // 2) % len(self.status_items)]
        first = self.status_next % 2 == 0
        self.status_next += 1
        self._browser(account)
        if first:
            self.client.get("/my/", name="GET /my/")
        else:
            self.client.get(f"/my/applications/{app_id}/", name="GET /my/applications/<id>/")
