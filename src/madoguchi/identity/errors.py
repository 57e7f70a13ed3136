"""Why a login or a signature is refused: one stable code per reason, with the Japanese message the
resident reads (shown as 【code】message). Never put personal data into a message."""

from __future__ import annotations

from madoguchi.core.errors import MadoguchiError

IDENTITY_CODES: dict[str, str] = {
    # password accounts
    "identity.invalid_credentials": "メールアドレスまたはパスワードが正しくありません。",
    "identity.locked": "ログインに続けて失敗したため、しばらくログインできません。15分ほど待ってから、もう一度お試しください。",
    "identity.email_taken": "このメールアドレスは既に登録されています。ログインしてください。",
    "identity.rate_limited": "短い時間に操作が集中しました。しばらく待ってから、もう一度お試しください。",
    "identity.method_unavailable": "この方法ではログインできません。",
    # jpki (マイナンバーカード)
    "identity.challenge_missing": "ログインの有効な手続きが見つかりません。もう一度「マイナンバーカードでログイン」からやり直してください。",
    "identity.challenge_expired": "ログインの有効時間 (5分) を過ぎました。もう一度やり直してください。",
    "identity.challenge_mismatch": "ログインの確認コードが一致しません (再送信または別の画面から送られました)。もう一度やり直してください。",
    "identity.response_missing": "カードリーダーのアプリから応答がありません。アプリを起動し、カードを置いてからやり直してください。",
    "identity.certificate_invalid": "電子証明書を読み取れません。",
    "identity.certificate_wrong_kind": "利用者証明用電子証明書ではありません。ログインには利用者証明用 (数字4桁の暗証番号) の証明書を使います。",
    "identity.certificate_untrusted": "電子証明書が信頼できる認証局 (地方公共団体情報システム機構) から発行されたものではありません。",
    "identity.certificate_expired": "電子証明書の有効期間外です。市区町村の窓口で電子証明書を更新してください。",
    "identity.certificate_revoked": "電子証明書は失効しています。市区町村の窓口で電子証明書を再発行してください。",
    "identity.crl_unavailable": "証明書の失効情報を確認できません。時間をおいてお試しいただくか、市区町村にお問い合わせください。",
    "identity.signature_invalid": "署名を確認できませんでした。カードを置き直して、もう一度やり直してください。",
    "identity.certificate_unknown": "この電子証明書は、この市区町村の住民の記録と紐付いていません。窓口にお問い合わせください。",
    # demo
    "identity.demo_unavailable": "デモ用カードはデモ環境でのみ使えます。",
    "identity.demo_unknown": "デモ用の住民が見つかりません。",
    # signing
    "signing.card_required": "この手続はマイナンバーカードでの電子署名が必要です。カードでログインしてください。",
    "signing.not_allowed": "サーバーでの署名はデモ環境でのみ使えます。",
    "signing.missing": "電子署名された申請データがありません。カードリーダーのアプリで署名してから送信してください。",
    "signing.malformed": "署名された申請データを読み取れません。もう一度署名してください。",
    "signing.mismatch": "署名された申請の内容が、画面で確認した内容と一致しません。もう一度署名してください。",
    "signing.stale": "署名の有効時間を過ぎました。確認画面からもう一度署名してください。",
    "signing.signer_unknown": "署名に使った電子証明書が、あなたの住民記録と紐付いていません。窓口にお問い合わせください。",
    "signing.signer_mismatch": "署名に使ったカードが、ログインしている方のカードではありません。ご本人のカードで署名してください。",
}


class IdentityError(MadoguchiError):
    """A refused login or signature, with a documented code (``IDENTITY_CODES``)."""

    code = "identity.error"
    default_message = "本人確認ができませんでした。"

    def __init__(self, code: str, detail: str = "") -> None:
        base = IDENTITY_CODES.get(code, self.default_message)
        super().__init__(f"{base} {detail}".strip(), code=code)
