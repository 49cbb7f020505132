"""Two-factor sign-in: TOTP codes (RFC 6238, pyotp) that work once, one-time recovery codes, the QR code."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

import pyotp
import segno
import sqlalchemy as sa

from ..extensions import db, rows_changed
from ..models import Clinician, RecoveryCode, utcnow

ISSUER = "PTSD screening"
RECOVERY_CODES = 10
# 10 characters of a 32-letter alphabet (50 random bits), shown as two groups of five.
RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l, o, 0 or 1 to misread
TOTP_CODE = re.compile(r"\d{6}")
BASE32 = re.compile(r"[A-Z2-7]+")


def new_secret() -> str:
    """A fresh base32 secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth://totp/… URI an authenticator app reads from the QR code or the link."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str, label: str) -> str:
    """The URI as an inline SVG QR code, made here (no third-party request), named for screen readers."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, border=4, dark="#000", light="#fff", omitsize=False)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" class="qr" ', 1)


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def normalise_code(typed: str) -> str:
    """Spaces and dashes are ignored, letters compared in lower case."""
    return re.sub(r"[\s-]", "", typed or "").lower()


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step (now, or one either side for clock drift) whose code this is, or None."""
    if not TOTP_CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    now_step = int((time.time() if at is None else at) // totp.interval)
    for step in (now_step, now_step - 1, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def claim_step(clinician: Clinician, step: int) -> bool:
    """Record the step as used unless it, or a later one, was used already: one statement, so two
    requests (even on two instances) cannot both use the same code."""
    claimed = rows_changed(
        sa.update(Clinician)
        .where(Clinician.id == clinician.id,
               sa.or_(Clinician.totp_last_step.is_(None), Clinician.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if claimed:
        clinician.totp_last_step = step
    return bool(claimed)


def _code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def new_recovery_codes(clinician: Clinician) -> list[str]:
    """Replace the account's recovery codes with 10 fresh ones; only their hashes are stored."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.clinician_id == clinician.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(clinician_id=clinician.id, code_hash=_code_hash(raw)))
    return codes


def use_recovery_code(clinician: Clinician, typed: str) -> bool:
    """Spend a recovery code: true once per code, in one statement so it cannot be used twice at once."""
    code = normalise_code(typed)
    if len(code) != 10:
        return False
    used = rows_changed(
        sa.update(RecoveryCode)
        .where(RecoveryCode.clinician_id == clinician.id, RecoveryCode.code_hash == _code_hash(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(used)


def recovery_codes_left(clinician: Clinician) -> int:
    return db.session.execute(sa.select(sa.func.count(RecoveryCode.id)).where(
        RecoveryCode.clinician_id == clinician.id, RecoveryCode.used_at.is_(None))).scalar_one()


def verify(clinician: Clinician, typed: str) -> str | None:
    """Check a sign-in's second factor: "totp" or "recovery" for an accepted code, None otherwise."""
    if not clinician.two_factor_enabled:
        return None
    assert clinician.totp_secret is not None  # two_factor_enabled means a confirmed secret
    code = normalise_code(typed)
    step = matching_step(clinician.totp_secret, code)
    if step is not None:
        return "totp" if claim_step(clinician, step) else None
    return "recovery" if use_recovery_code(clinician, code) else None


def is_secret(value: object) -> bool:
    """Whether a value is a secret as new_secret makes them."""
    return isinstance(value, str) and len(value) == 32 and BASE32.fullmatch(value) is not None


def confirm(clinician: Clinician, secret: str, typed: str) -> bool:
    """Finish set-up of the key this session was shown, with a current code from the app (that code is
    used up too): only then is the key stored on the account."""
    step = matching_step(secret, normalise_code(typed))
    if step is None or not claim_step(clinician, step):
        return False
    clinician.totp_secret = secret
    clinician.totp_confirmed_at = utcnow()
    return True


def reset(clinician: Clinician) -> None:
    """Turn two-factor off for the account (an admin's reset): secret, last step and recovery codes go."""
    clinician.totp_secret = None
    clinician.totp_confirmed_at = None
    clinician.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.clinician_id == clinician.id))
