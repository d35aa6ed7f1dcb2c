"""layouts.markup: text from the database cannot leave its element, whatever it holds.

The tables of the review, the enterprise profile and the index views are one dcc.Markdown each with raw HTML
allowed. A blank line ends a raw HTML block in Markdown, after which Markdown renders links, images and
headings: an enterprise name with a blank line and a Markdown link in it drew a link on the page.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layouts import review
from layouts.markup import Node, block, el, link

HOSTILE = ("湖州某某有限公司\n\n[点我](http://evil.example) ![x](http://evil.example/x.png)\n\n# 标题\r\n"
           "<script>alert(1)</script>\u2028`code`")


class TestMarkup:
    def test_mku001_a_blank_line_in_a_name_never_ends_the_block(self):
        cell = el("td", HOSTILE, title=HOSTILE)
        assert "\n" not in cell and "\r" not in cell and "\u2028" not in cell
        assert "<script>" not in cell and "&lt;script&gt;" in cell
        assert cell.count("&#10;") >= 4
        component = block("t", el("table", el("tr", cell)))
        assert "\n" not in component.children

    def test_mku002_block_refuses_markup_with_a_line_break(self):
        with pytest.raises(ValueError, match=r"^block\(\) markup holds a line break$"):
            block("t", Node("<table>\n\n</table>"))
        with pytest.raises(TypeError, match=r"never a plain string"):
            block("t", "<table></table>")

    def test_mku003_a_link_keeps_its_text_as_text(self):
        out = link(HOSTILE, "/enterprise/1")
        assert out.startswith('<a href="/enterprise/1" class="nav">') and "\n" not in out

    def test_mku004_the_drill_table_with_a_hostile_name(self):
        from data.screens.review import DrillItem  # noqa: PLC0415

        table = review.drill_table([DrillItem("station", 1, HOSTILE, 3, 2)], "zh")
        assert "\n" not in table.children and "](http" in table.children  # present as text, inside the cell
        assert table.children.index("](http") > table.children.index("<td>")

    @settings(max_examples=300, deadline=None)
    @given(st.text())
    def test_mku005_any_text_stays_on_one_line(self, value):
        assert not any(ch in el("td", value, title=value) for ch in "\n\r\v\f\x85\u2028\u2029")
