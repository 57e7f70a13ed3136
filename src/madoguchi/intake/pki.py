"""Trust for signed packages: trust anchors and CRLs from a configured folder, path building and
checks at the signing time, and a test CA (root → intermediate → 署名用 certificates) for demos/tests.

Production: ``MADOGUCHI_PITTARI_TRUST_DIR`` (setting or environment; default ``DATA_DIR/pittari-trust``)
holds the root certificates (self-signed = trust anchors), intermediate certificates and the CRLs
(``*.crl`` or ``*crl*.pem``) as PEM or DER files. Private keys are never read from it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

from madoguchi.intake.errors import PackageRejected

UTC = dt.UTC
MAX_DEPTH = 5


def trust_dir() -> Path:
    value = getattr(settings, "MADOGUCHI_PITTARI_TRUST_DIR", None) or os.environ.get(
        "MADOGUCHI_PITTARI_TRUST_DIR"
    )
    return Path(value) if value else Path(settings.DATA_DIR) / "pittari-trust"


def serial_text(serial: int) -> str:
    """Serials are stored and compared as upper-case hex without leading zeros (as JPKI shows them)."""
    return format(serial, "X")


def serial_normalize(value: str) -> str:
    """Accept ``0x1a2b``, ``1A:2B``, ``1a2b`` (hex) and return the canonical form."""
    text = value.strip().replace(":", "").replace(" ", "")
    if text.lower().startswith("0x"):
        text = text[2:]
    return serial_text(int(text, 16))


def _load_certs(data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificates(data)
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        return []


def _load_crl(data: bytes) -> x509.CertificateRevocationList | None:
    try:
        if b"-----BEGIN X509 CRL-----" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        return None


@dataclass
class TrustStore:
    anchors: list[x509.Certificate] = field(default_factory=list)
    intermediates: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    source: str = ""
    _plans: dict[tuple[x509.Certificate, ...], _Plan] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dir(cls, path: Path) -> TrustStore:
        store = cls(source=str(path))
        if not path.is_dir():
            return store
        for file in sorted(path.iterdir()):
            if not file.is_file() or file.suffix.lower() == ".key":
                continue
            data = file.read_bytes()
            if b"PRIVATE KEY" in data:
                continue
            lower = file.name.lower()
            if lower.endswith(".crl") or "crl" in lower:
                crl = _load_crl(data)
                if crl is not None:
                    store.crls.append(crl)
                continue
            for cert in _load_certs(data):
                if cert.issuer == cert.subject:
                    store.anchors.append(cert)
                else:
                    store.intermediates.append(cert)
        return store

    def check_config(self, *, now: dt.datetime | None = None) -> list[str]:
        now = now or dt.datetime.now(UTC)
        problems = []
        if not self.anchors:
            problems.append(f"信頼する認証局 (ルート証明書) がありません: {self.source}")
        for ca in self.anchors + self.intermediates:
            if ca.not_valid_after_utc < now:
                problems.append(f"認証局証明書の有効期限が切れています: {ca.subject.rfc4514_string()}")
            if not any(c.issuer == ca.subject for c in self.crls):
                problems.append(f"CRL がありません: {ca.subject.rfc4514_string()}")
        for crl in self.crls:
            if crl.next_update_utc is not None and crl.next_update_utc < now:
                problems.append(f"CRL の次回更新日時を過ぎています: {crl.issuer.rfc4514_string()}")
        return problems

    # ------------------------------------------------------------------ verification
    def _issuer_of(
        self, cert: x509.Certificate, pool: list[x509.Certificate]
    ) -> tuple[x509.Certificate, bool] | None:
        for candidate, anchor in [(a, True) for a in self.anchors] + [(c, False) for c in pool]:
            if candidate.subject != cert.issuer:
                continue
            if not _issued_by(cert, candidate):
                continue
            return candidate, anchor
        return None

    def verify(self, cert: x509.Certificate, *, chain: list[x509.Certificate], at: dt.datetime) -> None:
        """Raise PackageRejected unless ``cert`` chains to an anchor, was valid and unrevoked at ``at``.

        What does not depend on ``at`` (the path to an anchor, the EKU check, the CRL of each issuer and
        the entry for each serial) is worked out once per distinct (certificate, chain) and kept on this
        store: a store is rebuilt whenever a file of the trust folder changes (``trust_store``), so the
        memo never outlives the CRLs it was computed from. The checks against ``at`` run every time, in
        the order and with the codes they always had."""
        key = (cert, *chain)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(cert, chain)
            with _cache_lock:
                if len(self._plans) >= 4096:
                    self._plans.clear()
                self._plans[key] = plan
        if plan.untrusted is not None:
            raise PackageRejected("certificate.untrusted", plan.untrusted)
        for c in plan.path:
            if not (c.not_valid_before_utc <= at <= c.not_valid_after_utc):
                which = "署名者" if c is cert else "認証局"
                raise PackageRejected(
                    "certificate.expired",
                    f"({which}: {c.not_valid_before_utc:%Y-%m-%d}〜{c.not_valid_after_utc:%Y-%m-%d}, 署名 {at:%Y-%m-%d})",
                )
        if not plan.eku_ok:
            raise PackageRejected("certificate.untrusted", "(署名用の証明書ではありません)")
        for child, issuer, has_crl, entry in plan.revocation:
            if not has_crl:
                raise PackageRejected("certificate.crl_unavailable", f"({issuer.subject.rfc4514_string()})")
            if entry is not None and entry.revocation_date_utc <= at:
                raise PackageRejected(
                    "certificate.revoked", f"(シリアル {serial_text(child.serial_number)}, {entry.revocation_date_utc:%Y-%m-%d})"
                )

    def _plan(self, cert: x509.Certificate, chain: list[x509.Certificate]) -> _Plan:
        pool = self.intermediates + [c for c in chain if c.issuer != c.subject]
        path: list[x509.Certificate] = [cert]
        current = cert
        for _ in range(MAX_DEPTH):
            found = self._issuer_of(current, pool)
            if found is None:
                return _Plan(untrusted=f"(発行者 {current.issuer.rfc4514_string()})")
            issuer, is_anchor = found
            path.append(issuer)
            if is_anchor:
                break
            current = issuer
        else:
            return _Plan(untrusted="(証明書パスが長すぎます)")
        ekus = _eku(cert)
        eku_ok = ekus is None or ExtendedKeyUsageOID.EMAIL_PROTECTION in ekus or any(
            e.dotted_string.startswith("1.2.392.") for e in ekus
        )
        revocation = []
        for child, issuer in itertools.pairwise(path):
            crl = self._crl_for(issuer)
            entry = crl.get_revoked_certificate_by_serial_number(child.serial_number) if crl is not None else None
            revocation.append((child, issuer, crl is not None, entry))
            if crl is None:
                break
        return _Plan(path=tuple(path), eku_ok=eku_ok, revocation=tuple(revocation))

    def _crl_for(self, issuer: x509.Certificate) -> x509.CertificateRevocationList | None:
        best = None
        for crl in self.crls:
            if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                continue
            if best is None or crl.last_update_utc > best.last_update_utc:
                best = crl
        return best


@dataclass(frozen=True)
class _Plan:
    """What ``TrustStore.verify`` works out once per (certificate, chain): the path or why there is none,
    the EKU verdict, and per (child, issuer) pair whether the issuer has a CRL and the child's entry."""

    untrusted: str | None = None
    path: tuple[x509.Certificate, ...] = ()
    eku_ok: bool = True
    revocation: tuple[tuple[x509.Certificate, x509.Certificate, bool, x509.RevokedCertificate | None], ...] = ()


def _issued_by(cert: x509.Certificate, candidate: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(candidate)
    except Exception:
        return False
    return True


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier] | None:
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None


_cache: dict[str, tuple[tuple[tuple[str, float], ...], TrustStore]] = {}
_cache_lock = threading.Lock()


def trust_store(path: Path | None = None) -> TrustStore:
    """The configured store, re-read when a file in the folder changes (CRL updates need no restart)."""
    path = path or trust_dir()
    key = str(path)
    stamp = tuple(sorted((f.name, f.stat().st_mtime) for f in path.iterdir())) if path.is_dir() else ()
    with _cache_lock:
        cached = _cache.get(key)
        if cached and cached[0] == stamp:
            return cached[1]
        store = TrustStore.from_dir(path)
        _cache[key] = (stamp, store)
        return store


# ---------------------------------------------------------------------------------------- test CA
def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Madoguchi Test PKI (not for production)"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _ca_cert(
    subject: x509.Name, key: rsa.RSAPrivateKey, issuer: x509.Name, issuer_key: rsa.RSAPrivateKey,
    start: dt.datetime, days: int, path_length: int | None,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


@dataclass
class LocalCA:
    """A test CA on disk: ``DIR/root.pem``, ``intermediate.pem``, ``*-crl.pem`` (the trust folder)
    and ``DIR/private/`` (keys, revocation list) which the trust loader never reads."""

    path: Path

    @property
    def private(self) -> Path:
        return self.path / "private"

    def _load(self, name: str) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        cert = x509.load_pem_x509_certificate((self.path / f"{name}.pem").read_bytes())
        key = serialization.load_pem_private_key((self.private / f"{name}.key").read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return cert, key

    @property
    def intermediate(self) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        return self._load("intermediate")

    @classmethod
    def create(cls, path: Path, *, days: int = 3650, now: dt.datetime | None = None) -> LocalCA:
        now = (now or dt.datetime.now(UTC)) - dt.timedelta(days=400)  # covers back-dated samples
        path.mkdir(parents=True, exist_ok=True)
        ca = cls(path)
        ca.private.mkdir(exist_ok=True)
        os.chmod(ca.private, 0o700)
        root_key, int_key = _key(), _key()
        root_name, int_name = _name("Madoguchi Test Root CA"), _name("Madoguchi Test Signing CA")
        root = _ca_cert(root_name, root_key, root_name, root_key, now, days + 365, 1)
        inter = _ca_cert(int_name, int_key, root_name, root_key, now, days, 0)
        (path / "root.pem").write_bytes(_pem(root))
        (path / "intermediate.pem").write_bytes(_pem(inter))
        (ca.private / "root.key").write_bytes(_pem_key(root_key))
        (ca.private / "intermediate.key").write_bytes(_pem_key(int_key))
        (ca.private / "revoked.json").write_text("[]")
        ca._write_crl("root", root, root_key, [])
        ca.crl_publish()
        return ca

    def _write_crl(
        self, name: str, issuer: x509.Certificate, key: rsa.RSAPrivateKey, revoked: list[dict[str, str]]
    ) -> None:
        now = dt.datetime.now(UTC) - dt.timedelta(minutes=5)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(now)
            .next_update(now + dt.timedelta(days=30))
        )
        for item in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(int(item["serial"], 16))
                .revocation_date(dt.datetime.fromisoformat(item["at"]))
                .build()
            )
        (self.path / f"{name}-crl.pem").write_bytes(
            builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
        )

    def crl_publish(self) -> None:
        cert, key = self.intermediate
        self._write_crl("intermediate", cert, key, json.loads((self.private / "revoked.json").read_text()))

    def revoke(self, serial: str, *, at: dt.datetime) -> None:
        """Add a serial to the intermediate CA's CRL (revoked from ``at``) and republish it."""
        revoked = json.loads((self.private / "revoked.json").read_text())
        revoked.append({"serial": serial, "at": at.isoformat()})
        (self.private / "revoked.json").write_text(json.dumps(revoked))
        self.crl_publish()

    def leaf_issue(
        self,
        *,
        common_name: str,
        non_repudiation: bool,
        policies: tuple[x509.ObjectIdentifier, ...] = (),
        not_before: dt.datetime | None = None,
        days: int = 5 * 365,
        key: rsa.RSAPrivateKey | None = None,
    ) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        """An end-entity certificate from the intermediate CA: digitalSignature (plus nonRepudiation
        for 署名用), the given certificatePolicies, no EKU. Shared by 署名用 and 利用者証明用 issuing."""
        issuer, issuer_key = self.intermediate
        key = key or _key()
        start = not_before or dt.datetime.now(UTC) - dt.timedelta(days=1)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(issuer.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=non_repudiation, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
        )
        if policies:
            builder = builder.add_extension(
                x509.CertificatePolicies([x509.PolicyInformation(oid, None) for oid in policies]), critical=False
            )
        cert = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        ).sign(issuer_key, hashes.SHA256())
        return cert, key

    def signer_issue(
        self,
        *,
        label: str,
        not_before: dt.datetime | None = None,
        days: int = 5 * 365,
        key: rsa.RSAPrivateKey | None = None,
    ) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        """A 署名用 certificate (JPKI-like: 5 years, non-repudiation). ``label`` is no personal data."""
        return self.leaf_issue(
            common_name=f"Test Signer {label}", non_repudiation=True, not_before=not_before, days=days, key=key
        )


def cert_pem(cert: x509.Certificate) -> bytes:
    return _pem(cert)


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return _pem_key(key)


def key_new(bits: int = 2048) -> rsa.RSAPrivateKey:
    return _key(bits)
