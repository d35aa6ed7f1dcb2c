"""Import templates: for every import kind, a file with Chinese headers and an example row, and the mapping that
reads it, all from one table (``TEMPLATES``), so a bureau starts from files that import as they are.

``/admin/setup`` offers them as CSV (UTF-8 with a byte-order mark, which Excel needs to read Chinese), XLSX (every
cell text, so Excel cannot turn a credit code into a number) and YAML; tests/test_setup.py imports each template
with its mapping, so a template that stopped importing fails there. Every field an import kind knows
(``mapping.TARGETS``) has its column here; the test checks that too.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass

import yaml

from data.core import vocab
from data.intake.mapping import TARGETS

EXAMPLE_STATION = "S01"  # the example rows' station code and park code (the test's jurisdiction has them)
EXAMPLE_PARK = "P01"
EXAMPLE_CREDIT_CODE = "91330502MA2B3C4D58"  # a valid 统一社会信用代码 (check digit 8)


@dataclass(frozen=True)
class Column:
    field: str  # ours (mapping.TARGETS)
    header: str  # the template's Chinese header
    example: str  # the example row's value, as text


_PLACE = (Column("station", "派出所", EXAMPLE_STATION), Column("park", "园区", EXAMPLE_PARK),
          Column("lat", "纬度", "30.8201"), Column("lon", "经度", "120.2203"))
TEMPLATES: dict[str, tuple[Column, ...]] = {
    "sectors": (Column("name", "行业名称", "服装制造"), Column("name_en", "英文名称", "Garments"),
                Column("industry_codes", "国民经济行业代码", "C18,C1820"), Column("position", "排序", "1")),
    "network_classes": (Column("name", "类别名称", "小区物业"), Column("name_en", "英文名称", "Residential property"),
                        Column("position", "排序", "1")),
    "parks": (Column("code", "园区代码", EXAMPLE_PARK), Column("name", "园区名称", "示例工业园"),
              Column("station", "派出所", EXAMPLE_STATION), Column("lat", "纬度", "30.8205"),
              Column("lon", "经度", "120.2210"),
              Column("polygon", "园区范围", "POLYGON ((120.22 30.82, 120.223 30.82, 120.223 30.822, 120.22 30.822, "
                                           "120.22 30.82))")),
    "enterprises": (Column("credit_code", "统一社会信用代码", EXAMPLE_CREDIT_CODE),
                    Column("source_id", "登记编号", "330502000001"), Column("name", "企业名称", "示例服饰有限公司"),
                    Column("sector", "行业代码", "C1811"), Column("workers", "从业人数", "36"),
                    Column("address", "地址", "示例路1号"), *_PLACE,
                    Column("network_unit_class", "网格单位类别", "小区物业"),
                    Column("registered_on", "成立日期", "2019-03-01"),
                    Column("deregistered_on", "注销日期", "")),
    "teams": (Column("enterprise", "企业统一社会信用代码", EXAMPLE_CREDIT_CODE),
              Column("team_type", "队伍类型", "安全巡防队"),
              Column("established_on", "成立日期", "2025-06-01"), Column("dissolved_on", "解散日期", ""),
              Column("members", "人数", "12")),
    "incidents": (Column("source_id", "警情编号", "J2026110100001"),
                  Column("received_at", "接警时间", "2026-11-01 09:15:00"),
                  Column("category", "警情类别", "纠纷"), Column("subcategory", "警情细类", "劳资纠纷"),
                  Column("priority", "紧急程度", "2"), Column("enterprise_related", "是否涉企", "是"),
                  Column("enterprise", "涉事企业统一社会信用代码", EXAMPLE_CREDIT_CODE), *_PLACE,
                  Column("address", "发生地址", "示例路1号"), Column("caller_name", "报警人", "张三"),
                  Column("caller_phone", "联系电话", "13800000000"), Column("summary", "简要警情", "工资纠纷，已调解"),
                  Column("channel", "接警渠道", "110"), Column("disposition", "处置方式", "出警"),
                  Column("dispatched_at", "派警时间", "2026-11-01 09:17:00"),
                  Column("arrived_at", "到场时间", "2026-11-01 09:29:00"),
                  Column("closed_at", "结束时间", "2026-11-01 10:05:00"), Column("loss_amount", "损失金额", ""),
                  Column("recovered_amount", "挽损金额", "")),
    "disputes": (Column("source_id", "纠纷编号", "M2026110100001"),
                 Column("reported_at", "登记时间", "2026-11-01 14:00:00"),
                 Column("dispute_type", "纠纷类型", "劳资"), Column("enterprise", "涉事企业统一社会信用代码",
                                                               EXAMPLE_CREDIT_CODE), *_PLACE,
                 Column("parties", "当事人", "李四、王五"), Column("party_count", "当事人数", "2"),
                 Column("amount", "涉及金额", "12000"), Column("settled_level", "化解层级", "企业内"),
                 Column("mediator", "调解力量", "企业调解员"), Column("status", "状态", "已化解"),
                 Column("settled_at", "化解时间", "2026-11-02 16:30:00")),
    "hazards": (Column("source_id", "隐患编号", "Y2026110100001"),
                Column("found_at", "发现时间", "2026-11-01 10:00:00"),
                Column("hazard_type", "隐患类型", "消防"), Column("severity", "隐患等级", "一般"),
                Column("enterprise", "企业统一社会信用代码", EXAMPLE_CREDIT_CODE), *_PLACE,
                Column("description", "隐患描述", "疏散通道堆放货物"), Column("deadline", "整改期限", "2026-11-15"),
                Column("rectified_at", "整改完成时间", "2026-11-08 15:00:00"), Column("status", "整改状态", "已整改")),
}
KIND_NAMES = vocab.IMPORT_KIND_NAMES


def kinds() -> tuple[str, ...]:
    return tuple(TEMPLATES)


def filename(kind: str, suffix: str) -> str:
    return f"{KIND_NAMES[kind]}导入模板.{suffix}" if suffix != "yaml" else f"{KIND_NAMES[kind]}映射示例.yaml"


def template_csv(kind: str) -> bytes:
    """The template as CSV: the Chinese header and the example row, UTF-8 with a BOM (for Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in TEMPLATES[kind]])
    writer.writerow([c.example for c in TEMPLATES[kind]])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx(kind: str) -> bytes:
    """The template as a workbook whose cells are all text (``@``), so a credit code stays 18 characters."""
    from openpyxl import Workbook  # noqa: PLC0415 - only for this download

    book = Workbook()
    sheet = book.active
    sheet.title = KIND_NAMES[kind]
    for row in ([c.header for c in TEMPLATES[kind]], [c.example for c in TEMPLATES[kind]]):
        sheet.append(row)
    for row in sheet.iter_rows():
        for cell in row:
            cell.number_format = "@"
    for i, c in enumerate(TEMPLATES[kind], start=1):
        sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(12, 2 * len(c.header) + 2)
    buffer = io.BytesIO()
    book.save(buffer)
    return _without_clock(buffer.getvalue())


_FIXED_STAMP = (2020, 1, 1, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _without_clock(workbook: bytes) -> bytes:
    """The same workbook with the save time taken out (openpyxl stamps ``docProps/core.xml`` and every zip entry
    with the clock), so a template is the same bytes whenever it is downloaded."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            body = src.read(entry)
            if entry.filename == "docProps/core.xml":
                body = _CORE_TIMES.sub(rb"\g<1>2020-01-01T00:00:00Z\g<2>", body)
            dst.writestr(zipfile.ZipInfo(entry.filename, date_time=_FIXED_STAMP), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def example_mapping(kind: str) -> dict:
    """The mapping that reads the template (a bureau renames the headers to its own export's)."""
    mapping: dict = {"kind": kind, "source": "bureau-" + kind, "encoding": "auto",
                     "description": f"{KIND_NAMES[kind]}导入模板的映射（示例）"}
    if kind in ("incidents", "disputes", "hazards", "parks", "enterprises"):
        mapping["coordinates"] = {"system": "wgs84", "jurisdiction": "stations", "outside": "flag"}
    fields: dict = {}
    for c in TEMPLATES[kind]:
        target = TARGETS[kind][c.field]
        spec: dict | str = c.header
        if target.type == "time":
            spec = {"column": c.header, "format": "%Y-%m-%d %H:%M:%S"}
        elif target.type == "date":
            spec = {"column": c.header, "format": "%Y-%m-%d"}
        fields[c.field] = spec
    mapping["fields"] = fields
    return mapping


def example_mapping_yaml(kind: str) -> bytes:
    head = (f"# {KIND_NAMES[kind]}：导入模板的映射示例。把每个字段右边的列名换成贵单位导出文件的列名；"
            "不用的字段整行删掉。\n# 格式说明：docs/import.md\n")
    return (head + yaml.safe_dump(example_mapping(kind), allow_unicode=True, sort_keys=False)).encode("utf-8")
