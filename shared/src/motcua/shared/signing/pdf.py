"""PAdES signatures on the printouts (forms 01 and 05) with pyHanko.

The issuing agency signs the PDF with its current key (the same P-256 key that
signs its events) and its certificate, chained to the issuing CA published
with the keys (``x5c``); a PDF reader that trusts that CA reports the
signature as valid. The signature is a PAdES baseline (B-B) CMS signature,
incremental update of the rendered document.
"""

from __future__ import annotations

import base64
import io
import warnings
from datetime import datetime

from motcua.shared.signing.keystore import KeyMaterial, KeystoreError


async def sign_pdf(
    pdf: bytes,
    *,
    agency_code: str,
    keys: KeyMaterial,
    at: datetime,
    reason: str,
    location: str = "",
) -> bytes:
    """``pdf`` signed by ``agency_code`` (raises :class:`KeystoreError` when
    the agency has no key or certificate)."""
    with warnings.catch_warnings():
        # pyHanko still imports cryptography's DSA names, which warn
        warnings.simplefilter("ignore")
        from asn1crypto import x509
        from pyhanko.keys import load_private_key_from_pemder_data
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers
        from pyhanko_certvalidator.registry import SimpleCertificateStore

    ring = keys.keyring()
    key = ring.current(agency_code, at)
    if key is None or not key.certificates:
        msg = f"no signing key with a certificate for {agency_code}"
        raise KeystoreError(msg)
    certs = [x509.Certificate.load(base64.b64decode(c)) for c in key.certificates]
    private = load_private_key_from_pemder_data(
        keys.store.private_pem(key.kid), passphrase=None
    )
    signer = signers.SimpleSigner(
        signing_cert=certs[0],
        signing_key=private,
        cert_registry=SimpleCertificateStore.from_certs(certs[1:]),  # type: ignore[no-untyped-call]
    )
    meta = signers.PdfSignatureMetadata(
        field_name="ChuKySo",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location or None,
        name=agency_code,
    )
    out = io.BytesIO()
    await signers.async_sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, output=out
    )
    return out.getvalue()
