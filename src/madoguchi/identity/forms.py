"""Forms for the identity pages: cleaning only (the services decide)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.core.jp.wareki import parse_date_any


class LoginForm(forms.Form):
    email = forms.CharField(label=_("メールアドレス"), max_length=254)
    password = forms.CharField(label=_("パスワード"), max_length=200, strip=False)


class SignupForm(forms.Form):
    display_name = forms.CharField(label=_("お名前"), max_length=60)
    name_kana = forms.CharField(label=_("フリガナ"), max_length=120, required=False)
    email = forms.EmailField(label=_("メールアドレス"), max_length=254)
    password = forms.CharField(label=_("パスワード"), max_length=200, strip=False)
    password_confirm = forms.CharField(label=_("パスワード (確認)"), max_length=200, strip=False)
    birth_date = forms.CharField(label=_("生年月日"), max_length=30, required=False)
    postal_code = forms.CharField(label=_("郵便番号"), max_length=10, required=False)
    address = forms.CharField(label=_("住所"), max_length=200, required=False)

    def clean_birth_date(self) -> dt.date | None:
        raw = self.cleaned_data.get("birth_date", "").strip()
        if not raw:
            return None
        try:
            value = parse_date_any(raw)
        except ValueError:
            raise forms.ValidationError(_("生年月日は「1985-04-01」または「昭和60年4月1日」の形で入力してください。")) from None
        if value > dt.date.today():
            raise forms.ValidationError(_("生年月日が未来の日付です。"))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password_confirm") and data["password"] != data["password_confirm"]:
            self.add_error("password_confirm", _("確認用のパスワードが一致しません。"))
        return data


class JpkiResponseForm(forms.Form):
    challenge = forms.CharField(max_length=200, required=False)
    certificate = forms.CharField(max_length=20_000, required=False)
    chain = forms.CharField(max_length=60_000, required=False)
    signature = forms.CharField(max_length=2_000, required=False)

    def chain_list(self) -> list[str]:
        return [c for c in self.cleaned_data.get("chain", "").split(",") if c.strip()]


class DemoLoginForm(forms.Form):
    resident = forms.IntegerField(label=_("デモ用の住民"))
