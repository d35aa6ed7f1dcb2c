"""Masking of personal data: names to 王**, phones to 138****5678, addresses to street level.

Every query that returns personal data passes its rows through these functions unless the caller's role
may see them unmasked; nothing outside ``data/`` masks anything.
"""

from __future__ import annotations

import re

_STREET = re.compile(r"^(.*?(?:路|街|大道|巷|弄|道|村|社区|小区))")
_PHONE = re.compile(r"^(\+?86)?(\d{3})\d{4}(\d{4})$")


def mask_name(name: str | None) -> str | None:
    """Keep the surname, star the rest: 王建国 -> 王**."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits: 13812345678 -> 138****5678."""
    if not phone:
        return phone
    digits = re.sub(r"[\s-]", "", phone)
    match = _PHONE.match(digits)
    if match:
        return f"{match.group(2)}****{match.group(3)}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_address(address: str | None) -> str | None:
    """Cut an address after its street: 织里镇大港路12号3幢 -> 织里镇大港路."""
    if not address:
        return address
    match = _STREET.match(address)
    if match:
        return match.group(1)
    return address[: max(2, len(address) // 3)] + "…"
