"""Masking of personal data: names to 王**, phones to 138****5678, addresses to street level, and free text.

Every query that returns personal data passes its rows through these functions unless the caller's role
may see them unmasked; nothing outside ``data/`` masks anything.

``scrub_text`` is the one scrubber for free text (summaries, descriptions, parties, the rest of an address,
a quarantined row, an error message): whatever a person typed, it masks
- mobile numbers (with or without +86, spaces or hyphens) and landlines with an area code;
- 身份证号: 18 digits whose last is the GB 11643 check digit, and 15-digit old numbers with a valid birth date;
- bank card numbers: 16 to 19 digits passing the Luhn check;
- licence plates (浙E12345, 浙E·D12345, 沪A-12345);
- door numbers after a street (大港路88号3幢 -> 大港路**号);
- the names of the record's own parties and callers, of anyone the text names by a role
  (报警人, 负责人, 当事人, 事主, 店主…) and of anyone whose phone or ID number follows their name
  (与李秀英（13812345678）), wherever they appear in it.
What it leaves is never detectable as any of these (tests/test_scrub.py checks that property on generated
and on hand-written text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

_STREET = re.compile(r"^(.*?(?:路|街|大道|巷|弄|道|村|社区|小区))")
_PLACE = re.compile(r"^(.*?(?:省|市|区|县|镇|乡|街道))")
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
    """Cut an address after its street: 某某镇大港路12号3幢 -> 某某镇大港路 (no street: 某某镇…)."""
    if not address:
        return address
    match = _STREET.match(address)
    if match:
        return scrub_text(match.group(1))
    place = _PLACE.match(address)  # no street: keep the town or district, never part of what follows it
    return (place.group(1) if place else address[:2]) + "…"


# --- free text ------------------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_SEP = r"[ \u3000]{0,2}[\-‐–—]?[ \u3000]{0,2}"  # spaces (also full-width) and a hyphen people put inside numbers
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{11})([0-9Xx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<!\d)(\d{6})(\d{2})(\d{2})(\d{2})(\d{3})(?!\d)")
_MOBILE = re.compile(rf"(?<![\d+])(?:\+?86{_SEP})?(1[3-9]\d){_SEP}(\d{{4}}){_SEP}(\d{{4}})(?!\d)")
_LANDLINE = re.compile(rf"(?<!\d)(?:\(0\d{{2,3}}\)|0\d{{2,3}}){_SEP}\d{{3,4}}{_SEP}(\d{{4}})(?!\d)")
_DIGIT_RUN = re.compile(rf"(?<!\d)\d(?:{_SEP}\d){{15,18}}(?!\d)")
_PLATE = re.compile(r"([京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼])\s?([A-HJ-NP-Z])[·•\-\s]?"
                    r"([A-HJ-NP-Z0-9]{5,6})(?![A-Za-z0-9])")
MIN_NAME = 2  # a one-character "name" would mask every such character of the text
# A person named by their role in free text (报警人王建国称…, 负责人：李四): the name runs to the next word that
# cannot be part of it. Names the record does not hold are found this way.
_ROLE_WORDS = ("报警人|来电人|求助人|当事人|事主|负责人|法定代表人|法人代表|法人|店主|老板娘|老板|经理|厂长|"
               "股东|员工|工人|租户|房东|业主|嫌疑人|被害人|受害人|死者|伤者|驾驶人|司机|联系人|监护人|对方|其妻|"
               "其夫|其子|其女")
_NAME_STOP = r"(?=称|说|于|在|与|和|及|因|的|向|到|被|将|已|反映|来电|报警|等|[，。；、：:（()）\s\d]|$)"
_ROLE_PERSON = re.compile(rf"({_ROLE_WORDS})([:：]?\s*)([\u4e00-\u9fff]{{2,4}}?){_NAME_STOP}")
# A door after a street (大港路88号3幢, 富民路12-3号502室): the street stays, the numbers go.
_DOOR = re.compile(r"(路|街|大道|巷|弄|道|村|社区|小区)(\d[\d\-－号幢栋单元室楼层]*)")


def id_check_digit(body17: str) -> str:
    """The GB 11643 check character of the first 17 digits of a 身份证号."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(body17, _ID_WEIGHTS, strict=False)) % 11]


def _valid_birth(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def is_id_number(text: str) -> bool:
    """Whether ``text`` is a 身份证号: 18 characters with a valid check digit and birth date, or an old 15-digit one."""
    text = text.strip()
    if re.fullmatch(r"\d{17}[0-9Xx]", text):
        return (id_check_digit(text[:17]) == text[17].upper()
                and _valid_birth(int(text[6:10]), int(text[10:12]), int(text[12:14])))
    if re.fullmatch(r"\d{15}", text):
        return _valid_birth(1900 + int(text[6:8]), int(text[8:10]), int(text[10:12]))
    return False


def luhn_valid(digits: str) -> bool:
    """The Luhn check of a card number."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# A person whose phone or ID number follows their name (与李秀英（13812345678）, 赵强 0572-3021234, 王芳身份证…,
# 钱多多，手机：159…): the run of characters before the number, less the number's label, is cut after its last
# role, joining word or pronoun (报警人, 称, 与, 其…); what is left is the name if it has 2 to 4 characters, its
# last 3 if longer, and no one if shorter (称其手机…).
_NUMBER_LABEL = r"联系电话|联系方式|电话号码|电话|手机号码|手机号|手机|身份证号码|身份证号|身份证|证件号码|证件号"
_NAME_THEN_NUMBER = re.compile(
    rf"(?P<run>[\u4e00-\u9fff]{{2,}})(?P<comma>\s*[，,]\s*(?={_NUMBER_LABEL}))?\s*[（(]?\s*(?:{_NUMBER_LABEL})?[:：]?\s*"
    r"(?:\+?86[\s\-]?)?(?P<num>1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4}|\(?0\d{2,3}\)?[\s\-]?\d{7,8}|\d{17}[\dXx]|\d{15})(?!\d)")
_TRAILING_LABEL = re.compile(rf"(?:{_NUMBER_LABEL})$")
_NOT_A_NAME = re.compile(r"的|^[我你您他她其本]")
_NAME_CUT = re.compile(rf"(?:{_ROLE_WORDS}|人员|称|与|和|及|跟|同|经查|其|他|她|本人)")


def _named_before_numbers(text: str) -> set[str]:
    """The names of people whose phone or ID number follows their name in ``text`` (see above)."""
    found = set()
    for m in _NAME_THEN_NUMBER.finditer(text):
        digits = re.sub(r"\D", "", m.group("num"))
        if len(digits) in (15, 18) and not is_id_number(m.group("num")):
            continue
        if m.group("comma") and m.start() > 0 and text[m.start() - 1] not in "：:、，,；;（( \u3000":
            continue  # 被盗，身份证…: a word after a number, not a name in a list
        run = _TRAILING_LABEL.sub("", m.group("run"))
        if len(run) > 4:
            cuts = list(_NAME_CUT.finditer(run))
            run = run[cuts[-1].end():] if cuts else run  # 称其手机…: the person is named elsewhere, if at all
            if len(run) > 4:
                run = "" if m.group("comma") else run[-3:]
        if len(run) >= MIN_NAME and not _NOT_A_NAME.search(run):
            found.add(run)
    return found


def _keep_ends(text: str, head: int, tail: int) -> str:
    return text[:head] + "*" * (len(text) - head - tail) + (text[-tail:] if tail else "")


def _id18(match: re.Match) -> str:
    whole = match.group(0)
    return _keep_ends(whole, 2, 2) if is_id_number(whole) else whole


def _id15(match: re.Match) -> str:
    whole = match.group(0)
    return _keep_ends(whole, 2, 2) if is_id_number(whole) else whole


def _card(match: re.Match) -> str:
    whole = match.group(0)
    digits = re.sub(r"\D", "", whole)
    return "*" * (len(digits) - 4) + digits[-4:] if 16 <= len(digits) <= 19 and luhn_valid(digits) else whole


def _scrub_numbers(out: str) -> str:
    out = _ID18.sub(_id18, out)
    out = _DIGIT_RUN.sub(_card, out)
    out = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", out)
    out = _LANDLINE.sub(lambda m: "****" + m.group(1), out)  # the area code and the first part go
    out = _ID15.sub(_id15, out)
    return _PLATE.sub(lambda m: f"{m.group(1)}{m.group(2)}***{m.group(3)[-1]}", out)


def scrub_text(text: str | None, names: Iterable[str | None] = ()) -> str | None:
    """Free text with every personal number and the given people's names masked (see the module docstring)."""
    if not text:
        return text
    out = str(text)
    numbered = _named_before_numbers(out)
    for _pass in range(4):  # a number masked can free its neighbour ("…011X" just before a card number)
        before, out = out, _scrub_numbers(out)
        if out == before:
            break
    out = _DOOR.sub(lambda m: f"{m.group(1)}**号", out)
    found = {m.group(3) for m in _ROLE_PERSON.finditer(out)}  # people named by their role, also elsewhere
    for name in sorted({n.strip() for n in (*names, *found, *numbered) if n and len(n.strip()) >= MIN_NAME},
                       key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    return out


def personal_numbers(text: str | None) -> list[str]:
    """The personal numbers ``scrub_text`` masks, as found in ``text`` (tests: scrubbed text holds none)."""
    if not text:
        return []
    found = [m.group(0) for m in _ID18.finditer(text) if is_id_number(m.group(0))]
    found += [m.group(0) for m in _ID15.finditer(text) if is_id_number(m.group(0))]
    found += [m.group(0) for m in _DIGIT_RUN.finditer(text)
              if 16 <= len(re.sub(r"\D", "", m.group(0))) <= 19 and luhn_valid(re.sub(r"\D", "", m.group(0)))]
    found += [m.group(0) for m in _MOBILE.finditer(text)]
    found += [m.group(0) for m in _LANDLINE.finditer(text)]
    found += [m.group(0) for m in _PLATE.finditer(text)]
    return found


# --- a dispute's parties --------------------------------------------------------------------------------

# A party whose text contains one of these is an organisation and keeps its name (its numbers are scrubbed).
_ORGANISATION = re.compile(r"公司|有限|厂|店|园区|中心|合作社|工作室|协会|集团|商行|市场|学校|医院|物业|银行|门市|车行|"
                           r"作坊|加工点|经营部|服务部|委员会|政府|派出所")
# What separates parties as people write them: punctuation, 与/和/及/同/跟, spaces, line breaks and brackets.
_PARTY_SPLIT = re.compile(r"(\s*(?:以及|[；;、，,/|]|与|和|及|同|跟|[（）()【】\[\]《》<>])\s*|\s+)")
_PERSON_GROUP = re.compile(r"^(?P<name>.+?)(?P<rest>等\s*\d+\s*(?:人|名|户)?)?$", re.S)
# A person named inside an organisation's piece by their role: 某某服装厂法人张三, 店主：李四.
_ROLE_NAME = re.compile(r"(法人代表|法定代表人|法人|店主|老板娘|老板|负责人|经理|厂长|股东|员工|工人|代表)([:：]?\s*)"
                        r"([\u4e00-\u9fff]{2,4})")


def is_organisation(piece: str) -> bool:
    """Whether a piece of a parties text names an organisation (公司, 厂, 店, 派出所…), which keeps its name."""
    return bool(_ORGANISATION.search(piece))


def mask_parties(parties: str | None) -> str | None:
    """A dispute's parties with every person's name masked, whatever the separators (punctuation, 与/和,
    spaces, brackets, line breaks): 王建国与湖州某某服装厂 -> 王**与湖州某某服装厂; organisations keep their
    names; numbers are scrubbed (scrub_text); a line break becomes "；" so the text stays on one line."""
    if not parties:
        return parties
    out = []
    for piece in _PARTY_SPLIT.split(str(parties)):
        if not piece:
            continue
        if _PARTY_SPLIT.fullmatch(piece):
            out.append("；" if "\n" in piece or "\r" in piece else piece)
        elif is_organisation(piece):
            out.append(_ROLE_NAME.sub(lambda m: m.group(1) + m.group(2) + mask_name(m.group(3)), piece))
        elif re.fullmatch(r"[\d+\-\s]+", piece):
            out.append(piece)  # a number: scrub_text below decides
        else:
            match = _PERSON_GROUP.match(piece)
            out.append(mask_name(match.group("name")) + (match.group("rest") or ""))
    return scrub_text("".join(out))
