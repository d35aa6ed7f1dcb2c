"""data.access.masking: names to 王**, phones to 138****5678, addresses cut after the street."""

from __future__ import annotations

import pytest

from data.access.masking import mask_address, mask_name, mask_phone
from data.demo import geo


class TestMaskName:
    @pytest.mark.parametrize(
        "name, expected",
        [
            ("王建国", "王**"),
            ("李娜", "李*"),
            ("欧阳娜娜", "欧***"),  # compound surnames are not recognised: only the first character stays
            ("王", "王*"),  # a single character still gets a star, so the length tells nothing
        ],
    )
    def test_msk001_keeps_the_first_character(self, name, expected):
        assert mask_name(name) == expected

    def test_msk002_empty_and_none_pass_through(self):
        assert mask_name(None) is None
        assert mask_name("") == ""

    def test_msk003_no_given_name_character_survives(self):
        for name in ("张伟", "陈秀英", "钮桂兰", "诸葛孔明"):
            masked = mask_name(name)
            assert masked[0] == name[0]
            assert set(masked[1:]) == {"*"}
            assert len(masked) == len(name)


class TestMaskPhone:
    @pytest.mark.parametrize(
        "phone",
        ["13812345678", "+8613812345678", "8613812345678", "+86 138 1234 5678", "138-1234-5678",
         "138 1234 5678", "+86-138-1234-5678"],
    )
    def test_msk010_mobile_keeps_three_and_four(self, phone):
        assert mask_phone(phone) == "138****5678"

    def test_msk011_landline_of_eleven_digits(self):
        assert mask_phone("0572-3012345") == "057****2345"

    @pytest.mark.parametrize(
        "phone, expected",
        [
            ("3012345", "***2345"),  # local landline without area code
            ("0572-301234", "******1234"),  # ten digits: not a mobile pattern
            ("12345", "*2345"),
            ("1234", "****"),
            ("110", "***"),
            ("(0572)3012345", "*********2345"),  # brackets are not stripped, but still starred
        ],
    )
    def test_msk012_other_numbers_show_only_the_last_four(self, phone, expected):
        assert mask_phone(phone) == expected

    def test_msk013_empty_and_none_pass_through(self):
        assert mask_phone(None) is None
        assert mask_phone("") == ""

    def test_msk014_middle_digits_never_leak(self):
        masked = mask_phone("+86 139 8765 4321")
        assert masked == "139****4321"
        assert "8765" not in masked


class TestMaskAddress:
    def test_msk020_cut_after_the_road(self):
        assert mask_address("织里镇大港路12号3幢501室") == "织里镇大港路"

    @pytest.mark.parametrize(
        "address, expected",
        [
            ("织里镇吴兴大道88号", "织里镇吴兴大道"),
            ("织里镇湖织大道1号2幢", "织里镇湖织大道"),
            ("织里镇织里北路7号", "织里镇织里北路"),
            ("织里镇轧村12号", "织里镇轧村"),
            ("阳光小区5幢302室", "阳光小区"),
            ("秦家港社区3组18号", "秦家港社区"),
            ("东港街9号", "东港街"),
            ("织里镇大港路", "织里镇大港路"),  # already at street level
        ],
    )
    def test_msk021_street_keywords(self, address, expected):
        assert mask_address(address) == expected

    def test_msk022_every_demo_street_is_cut_at_the_street(self):
        for street in geo.STREETS:
            assert mask_address(f"织里镇{street}123号4幢501室") == f"织里镇{street}", street

    @pytest.mark.parametrize(
        "address, expected",
        [
            ("湖州市吴兴区织里镇", "湖州市…"),  # 9 characters: the first third
            ("织里镇香圩墩123号", "织里镇…"),  # 10 characters: 10 // 3 = 3
            ("某地", "某地…"),  # at least two characters
            ("家", "家…"),
        ],
    )
    def test_msk023_no_street_keyword_keeps_a_third(self, address, expected):
        assert mask_address(address) == expected

    def test_msk024_empty_and_none_pass_through(self):
        assert mask_address(None) is None
        assert mask_address("") == ""
