"""The identity methods (plugins): ``password``, ``jpki`` and ``demo``.

Each states how a resident proves who they are, whether it is card-level (``card``), whether it can be
offered now (``available()``: the demo card only in DEMO_MODE, never in production) and what an
operator must fix (``check_config()``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import get_hasher
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from madoguchi.core.registry import Plugin, Registry


class IdentityMethod(Plugin):
    """Contract: ``login_url()`` is where the login for this method starts; ``card`` says whether the
    identity it yields satisfies ``identity_required("card")``; ``available()`` whether to offer it."""

    verbose_name: Any = ""
    card = False
    recommended = False
    url_name = ""

    def available(self) -> bool:
        return True

    def login_url(self) -> str:
        return reverse(self.url_name)


methods: Registry[IdentityMethod] = Registry("identity methods")


def demo_allowed() -> bool:
    """The demo card: only in DEMO_MODE, and never in production whatever the flags say."""
    return bool(getattr(settings, "DEMO_MODE", False)) and not getattr(settings, "PRODUCTION", False)


@methods.register("jpki")
class JpkiMethod(IdentityMethod):
    verbose_name = _("マイナンバーカードでログイン")
    card = True
    recommended = True
    url_name = "identity:jpki"

    def check_config(self) -> list[str]:
        from madoguchi.identity.pki import bridge_origin, bridge_url, jpki_trust_store

        problems = list(jpki_trust_store().check_config())
        origin = bridge_origin()
        if not origin:
            problems.append(f"MADOGUCHI_JPKI_BRIDGE_URL が URL ではありません: {bridge_url()}")
        elif not (origin.startswith("https://") or origin.startswith(("http://127.0.0.1", "http://localhost"))):
            problems.append(f"カードリーダーのアプリは https またはループバックにしてください: {origin}")
        return problems


@methods.register("password")
class PasswordMethod(IdentityMethod):
    verbose_name = _("メールアドレスでログイン")
    url_name = "identity:password"

    def check_config(self) -> list[str]:
        hasher = get_hasher()
        if getattr(settings, "PRODUCTION", False) and hasher.algorithm in {"md5", "unsalted_md5", "sha1"}:
            return [f"パスワードのハッシュ方式が弱すぎます: {hasher.algorithm}"]
        return []


@methods.register("demo")
class DemoMethod(IdentityMethod):
    verbose_name = _("デモ用カードでログイン")
    card = True
    url_name = "identity:demo"

    def available(self) -> bool:
        return demo_allowed()

    def check_config(self) -> list[str]:
        if getattr(settings, "PRODUCTION", False) and getattr(settings, "DEMO_MODE", False):
            return ["本番環境で DEMO_MODE が有効です (デモ用カードは使えません)。MADOGUCHI_DEMO を外してください。"]
        return []


def methods_available() -> list[IdentityMethod]:
    order = {"jpki": 0, "password": 1, "demo": 2}
    return sorted((m for m in methods if m.available()), key=lambda m: order.get(m.key, 9))
