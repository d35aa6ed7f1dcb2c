"""Industry codes (GB/T 4754-2017, 国民经济行业分类) and the bureau's sector table built on them.

A registry export gives an enterprise's industry as a code (``C1811``, ``1811``, ``C18``) or as a name; the
bureau's sector table (``sectors``: name, English name, the industry codes each sector covers) turns either
into one of the bureau's own sectors, so sectors are data and the safety index's peer groups follow them.

A code is read as its 门类 letter followed by up to four digits; a code given without its letter gets it from
its 大类 (the first two digits), by the standard's table below. A sector covers a code when one of its codes is
a prefix of it (``C18`` covers ``C1811``); the longest prefix wins, so a bureau can send 服装制造 (``C18``) to
one sector and 针织服装 (``C1820``) to another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# GB/T 4754-2017: each 门类 (section) and the 大类 (divisions, two digits) it holds.
SECTIONS: dict[str, tuple[int, int]] = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52), "G": (53, 60),
    "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79),
    "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90), "S": (91, 96), "T": (97, 97),
}
SECTION_NAMES: dict[str, str] = {
    "A": "农、林、牧、渔业", "B": "采矿业", "C": "制造业", "D": "电力、热力、燃气及水生产和供应业", "E": "建筑业",
    "F": "批发和零售业", "G": "交通运输、仓储和邮政业", "H": "住宿和餐饮业", "I": "信息传输、软件和信息技术服务业",
    "J": "金融业", "K": "房地产业", "L": "租赁和商务服务业", "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业", "O": "居民服务、修理和其他服务业", "P": "教育", "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业", "S": "公共管理、社会保障和社会组织", "T": "国际组织",
}
_CODE = re.compile(r"([A-Ta-t])?\s*(\d{2,4})?")


def normalise_code(text: str) -> str | None:
    """``C1811`` for ``c1811``, ``1811`` or ``C 1811``; ``C`` for a bare section letter; None if not a code."""
    text = (text or "").strip()
    match = _CODE.fullmatch(text)
    if not text or match is None:
        return None
    letter, digits = match.group(1), match.group(2) or ""
    if letter is None:
        if not digits:
            return None
        letter = section_of(int(digits[:2]))
        if letter is None:
            return None
    letter = letter.upper()
    if digits and section_of(int(digits[:2])) != letter:
        return None  # C0110: a division outside its section
    return letter + digits


def section_of(division: int) -> str | None:
    """The section letter of a two-digit division, or None."""
    for letter, (low, high) in SECTIONS.items():
        if low <= division <= high:
            return letter
    return None


@dataclass(frozen=True)
class SectorTable:
    """The bureau's sectors: by name, and by the industry-code prefixes each covers."""

    names: frozenset[str]
    by_code: dict[str, str]  # normalised code prefix -> sector name

    @classmethod
    def from_rows(cls, rows) -> SectorTable:
        """From (name, industry_codes) pairs; ``industry_codes`` is comma- or space-separated text."""
        names, by_code = set(), {}
        for name, codes in rows:
            names.add(name)
            for raw in re.split(r"[,，;；\s]+", codes or ""):
                code = normalise_code(raw)
                if code is not None:
                    by_code[code] = name
        return cls(frozenset(names), by_code)

    def sector_of(self, text: str) -> tuple[str, str | None] | None:
        """(sector, industry code or None) for a sector name or an industry code; None when none covers it."""
        text = (text or "").strip()
        if text in self.names:
            return text, None
        code = normalise_code(text)
        if code is None:
            return None
        for end in range(len(code), 0, -1):
            name = self.by_code.get(code[:end])
            if name is not None:
                return name, code
        return None


def check_codes(text: str) -> list[str]:
    """The entries of an industry_codes cell that are not codes (empty when all are)."""
    return [raw for raw in re.split(r"[,，;；\s]+", text or "") if raw and normalise_code(raw) is None]
