"""Why a package is refused: one stable code per reason, with the Japanese message operators read.

The codes are documented in docs/formats/pittari-v1.md (運用者向け). Never put personal data
(and never a 個人番号) into a message: messages are logged and written to the quarantine folder.
"""

from __future__ import annotations

from madoguchi.core.errors import MadoguchiError

REJECTION_CODES: dict[str, str] = {
    "package.unreadable": "パッケージ (zip) を読み込めません。",
    "zip.path_traversal": "zip に絶対パスまたは「..」を含む危険なパスがあります。",
    "zip.link": "zip にシンボリックリンク等の特殊ファイルがあります。",
    "zip.too_many_entries": "zip のファイル数が上限を超えています。",
    "zip.too_large": "zip を展開したサイズが上限を超えています。",
    "zip.bomb": "zip の圧縮率が異常に高く、圧縮爆弾の疑いがあります。",
    "zip.encrypted": "暗号化された zip は受け付けられません。",
    "zip.duplicate_entry": "zip に同じ名前のファイルが複数あります。",
    "zip.missing_entry": "zip に必要なファイル (manifest.json / application.xml) がありません。",
    "zip.unexpected_entry": "manifest.json に記載のないファイルが zip に含まれています。",
    "manifest.invalid": "manifest.json の形式が正しくありません。",
    "manifest.format_unsupported": "対応していないパッケージ形式または版です。",
    "manifest.hash_mismatch": "ファイルの SHA-256 が manifest.json の記載と一致しません (改ざんまたは破損)。",
    "encoding.undeclared": "application.xml の文字コードが宣言されていないか、宣言と内容が一致しません。",
    "encoding.invalid": "application.xml の文字コードが宣言と一致しないか、不正なバイト列を含みます。",
    "encoding.unsupported": "application.xml の文字コードは UTF-8 または Shift_JIS (cp932) にしてください。",
    "xml.dtd_forbidden": "application.xml に DTD (DOCTYPE) が含まれています。",
    "xml.entity_forbidden": "application.xml に実体 (ENTITY) 宣言が含まれています。",
    "xml.external_reference": "application.xml に外部参照 (SYSTEM/PUBLIC, XInclude, xml-stylesheet) があります。",
    "xml.malformed": "application.xml を XML として解釈できません。",
    "xml.structure": "application.xml の構造が pittari-v1 の仕様と一致しません。",
    "attachment.missing": "application.xml が参照する添付ファイルが zip にありません。",
    "attachment.hash_mismatch": "添付ファイルの SHA-256 が署名対象の記載と一致しません。",
    "attachment.rejected": "添付ファイルの形式またはサイズを受け付けられません。",
    "signature.missing": "application.xml に電子署名がありません。",
    "signature.invalid": "電子署名の検証に失敗しました (改ざんまたは署名方式の誤り)。",
    "certificate.invalid": "署名者の電子証明書を読み取れません。",
    "certificate.untrusted": "署名者の電子証明書が信頼できる認証局につながりません。",
    "certificate.expired": "署名時点で署名者の電子証明書が有効期間外です。",
    "certificate.revoked": "署名者の電子証明書は署名時点で失効しています (CRL)。",
    "certificate.crl_unavailable": "認証局の失効リスト (CRL) が設定されていないか、期限切れです。",
    "signing_time.invalid": "署名日時が不正です (送信日時より後、または形式誤り)。",
    "municipality.mismatch": "パッケージの宛先団体が取込先の団体と一致しません。",
    "municipality.unknown": "宛先の団体が登録されていません。",
    "procedure.unknown": "手続IDが手続マスタに登録されていません。",
    "procedure.version_unknown": "様式の版が手続マスタにありません (現在の公開版と一致しません)。",
    "procedure.inactive": "この手続は現在受け付けていません。",
    "form.invalid": "申請データが手続の様式に適合しません。",
}


class PackageRejected(MadoguchiError):
    """A package refused for a documented reason (``code`` in REJECTION_CODES)."""

    code = "package.rejected"
    default_message = "パッケージを受け付けられません。"

    def __init__(self, code: str, detail: str = "", *, details: object = None) -> None:
        base = REJECTION_CODES.get(code, self.default_message)
        super().__init__(f"{base} {detail}".strip(), code=code, details=details)
