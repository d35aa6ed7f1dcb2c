"""data.access.masking's free-text scrubber and the dispute parties' masking, on text as people type it.

The corpus below is written by hand, in the style of real 110 summaries, dispute records and inspection notes
(not generated from the scrubber's own patterns); the property tests then plant generated numbers in
generated text and check that nothing detectable survives.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.access.masking import (
    id_check_digit,
    is_id_number,
    is_organisation,
    luhn_valid,
    mask_address,
    mask_parties,
    personal_numbers,
    scrub_text,
)

ID_BODY = "33050219900307123"  # Huzhou Wuxing, born 1990-03-07
ID = ID_BODY + id_check_digit(ID_BODY)  # 330502199003071232
OLD_ID = "330502900307123"  # a 15-digit number of the same person
CARD = "6222021234567890128"  # passes Luhn


class TestDetectors:
    def test_scr001_id_numbers(self):
        assert ID == "330502199003071232" and is_id_number(ID)
        assert not is_id_number(ID[:-1] + "5")  # a wrong check digit
        assert is_id_number("11010519491231002X") and is_id_number("11010519491231002x")
        assert not is_id_number("330502199013071231")  # month 13
        assert is_id_number(OLD_ID) and not is_id_number("330502901307123")

    def test_scr002_luhn(self):
        assert luhn_valid(CARD) and luhn_valid("4111111111111111")
        assert not luhn_valid("6222021234567890129")


CORPUS = [
    # (text as typed, the personal values in it, names of the record's people, what must stay readable)
    ("报警人王建国称其在湖州织里某某服装厂打工，老板拖欠工资三个月，联系电话13812345678。",
     ["13812345678", "王建国"], ["王建国"], ["服装厂", "拖欠工资"]),
    ("来电人李秀英（身份证330502199003071232）反映邻居噪音扰民，回电 0572-3021234。",
     ["330502199003071232", "0572-3021234", "李秀英"], ["李秀英"], ["噪音扰民"]),
    ("被盗电动车一辆，车牌浙E12345，停放于大港路小区门口。", ["浙E12345"], [], ["电动车", "大港路"]),
    ("当事人赵强 138 1234 5678，对方湖州某某有限公司法人张三丰，双方就货款3.5万元发生纠纷。",
     ["138 1234 5678", "张三丰", "赵强"], ["赵强", "张三丰"], ["货款3.5万元"]),
    ("事主称银行卡6222021234567890128被他人盗刷，损失约2000元，已告知其到派出所报案。",
     ["6222021234567890128"], [], ["盗刷", "2000元"]),
    ("+86-139-0000-1111 反映：工地扬尘严重。旧身份证号330502900307123。", ["+86-139-0000-1111", "139-0000-1111",
                                                                    "330502900307123"], [], ["扬尘"]),
    ("隐患：三楼住人，电线私拉乱接；负责人王五（电话：15900001111）承诺三日内整改。",
     ["15900001111", "王五"], ["王五"], ["电线私拉乱接", "三日内整改"]),
]


class TestCorpus:
    @pytest.mark.parametrize("text, planted, names, kept", CORPUS, ids=[str(i) for i in range(len(CORPUS))])
    def test_scr010_nothing_personal_survives_and_the_rest_reads(self, text, planted, names, kept):
        out = scrub_text(text, names)
        for value in planted:
            assert value not in out, (value, out)
        assert personal_numbers(out) == [], out
        for words in kept:
            assert words in out, (words, out)

    def test_scr011_masked_forms(self):
        assert scrub_text("电话13812345678") == "电话138****5678"
        assert scrub_text(f"身份证{ID}") == "身份证33**************32"
        assert scrub_text(f"卡号{CARD}") == "卡号***************0128"
        assert scrub_text("车牌浙E·D12345") == "车牌浙E***5"
        assert scrub_text("王建国来电", ["王建国"]) == "王**来电"

    def test_scr012_numbers_that_are_not_personal_stay(self):
        text = "警情编号202612070012345678，涉案金额12345元，2026年12月7日06时30分，3号楼502室"
        assert scrub_text(text) == text  # an 18-digit case number without a valid check digit stays
        assert scrub_text(None) is None and scrub_text("") == ""

    def test_scr013_a_one_character_name_masks_nothing_else(self):
        assert scrub_text("王先生来电", ["王"]) == "王先生来电"

    @pytest.mark.parametrize("text, name", [
        ("报警人称与邻居孙丽华（13912345678）因停车发生口角", "孙丽华"),
        ("双方当事人周敏 0572-3021234、吴刚", "周敏"),
        ("经查，陈志强身份证330502199003071232，系该厂员工", "陈志强"),
        ("涉事人员：钱多多，手机：15900001111", "钱多多"),
    ])
    def test_scr014_a_name_before_its_number_is_masked_though_the_record_does_not_hold_it(self, text, name):
        out = scrub_text(text)
        assert name not in out and name[0] + "*" in out, out
        assert personal_numbers(out) == []

    def test_scr015_a_number_s_label_is_not_taken_for_a_name(self):
        out = scrub_text("联系电话：13812345678，身份证330502199003071232，损失5000元")
        assert out.startswith("联系电话：138****5678，身份证33") and "损失5000元" in out, out


class TestParties:
    @pytest.mark.parametrize("raw, masked", [
        ("王建国与湖州织里某某服装厂", "王**与湖州织里某某服装厂"),
        ("李秀英（张记面店店主）", "李**（张记面店店主）"),
        ("赵强 13812345678 湖州某某有限公司", "赵* 138****5678 湖州某某有限公司"),
        ("张三\n李四", "张*；李*"),  # a line break crashed the masking before
        ("张三\r\n湖州某某有限公司", "张*；湖州某某有限公司"),
        ("某某服装厂法人张三丰", "某某服装厂法人张**"),
        ("王五和赵六等5人", "王*和赵*等5人"),
        ("王建国等3人；湖州某某有限公司", "王**等3人；湖州某某有限公司"),
        ("湖州甲有限公司；湖州乙有限公司", "湖州甲有限公司；湖州乙有限公司"),
    ])
    def test_scr020_every_person_masked_whatever_the_separator(self, raw, masked):
        assert mask_parties(raw) == masked

    def test_scr021_an_address_without_a_street_keeps_only_its_place(self):
        assert mask_address("织里镇大港路12号3幢") == "织里镇大港路"
        assert mask_address("织里镇王建国家门口13812345678") == "织里镇…"
        assert "王建" not in mask_address("湖州王建国家")


# --- properties ----------------------------------------------------------------------------------------

HAN = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=0, max_size=12)
FILLER = st.one_of(HAN, st.text(alphabet="，。：；（）、 ", max_size=3))
SEPARATORS = st.sampled_from(["", " ", "-", " - "])


@st.composite
def mobiles(draw) -> str:
    digits = "1" + draw(st.sampled_from("3456789")) + "".join(draw(st.lists(
        st.sampled_from(string.digits), min_size=9, max_size=9)))
    sep = draw(SEPARATORS)
    prefix = draw(st.sampled_from(["", "+86", "86", "+86 "]))
    return f"{prefix}{digits[:3]}{sep}{digits[3:7]}{sep}{digits[7:]}"


@st.composite
def id_numbers(draw) -> str:
    region = draw(st.sampled_from(["330502", "110105", "440305"]))
    birth = draw(st.dates(min_value=__import__("datetime").date(1930, 1, 1),
                          max_value=__import__("datetime").date(2010, 12, 31)))
    order = "".join(draw(st.lists(st.sampled_from(string.digits), min_size=3, max_size=3)))
    body = region + birth.strftime("%Y%m%d") + order
    return body + id_check_digit(body)


@st.composite
def cards(draw) -> str:
    length = draw(st.integers(16, 19))
    body = "62" + "".join(draw(st.lists(st.sampled_from(string.digits), min_size=length - 3, max_size=length - 3)))
    return body + next(d for d in string.digits if luhn_valid(body + d))


PLATES = st.builds(lambda p, letter, rest: f"{p}{letter}{rest}", st.sampled_from("浙沪苏皖京"),
                   st.sampled_from("ABCDEFGH"), st.text(alphabet="0123456789ABCDEFGHJK", min_size=5, max_size=5))


class TestProperties:
    @settings(max_examples=300, deadline=None)
    @given(FILLER, st.one_of(mobiles(), id_numbers(), cards(), PLATES), FILLER)
    def test_scr030_a_planted_number_never_survives(self, before, value, after):
        out = scrub_text(before + value + after)
        assert value not in out
        assert personal_numbers(out) == []

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.one_of(FILLER, mobiles(), id_numbers(), cards(), PLATES), max_size=8))
    def test_scr031_scrubbed_text_holds_nothing_detectable(self, parts):
        out = scrub_text("".join(parts))
        assert personal_numbers(out) == []
        assert scrub_text(out) == out  # scrubbing is idempotent

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5,
                                                   exclude_characters="与和及同跟"), min_size=2,
                            max_size=3), min_size=1, max_size=4),
           st.lists(st.sampled_from(["与", "和", "、", "；", " ", "\n", "（", "）", "，"]), min_size=4, max_size=4))
    def test_scr032_joined_names_are_all_masked(self, names, joins):
        raw = "".join(n + j for n, j in zip(names, joins, strict=False))
        out = mask_parties(raw)
        assert "\n" not in out
        for name in names:
            if not is_organisation(name):
                assert name not in out, (name, raw, out)
