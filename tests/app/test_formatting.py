from __future__ import annotations

import html
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from app.formatting import duration_ms, md_code, md_literal

RENDERER = MarkdownIt("commonmark")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (850.0, "850 ms"),
        (12_400.0, "12.4 s"),
        (150_000.0, "2.5 min"),
        (7_455_800.0, "2.1 h"),
    ],
)
def test_duration_reads_in_the_largest_short_unit(value: float | None, text: str) -> None:
    assert duration_ms(value) == text


_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40)


def _shown(markdown: str) -> tuple[str, str]:
    """(HTML, visible text) of a Markdown string, as a CommonMark renderer makes it."""
    markup = RENDERER.render(markdown)
    return markup, html.unescape(re.sub(r"<[^>]+>", "", markup)).strip()


@given(_TEXT.filter(str.strip))
def test_md_code_shows_any_text_as_typed_and_never_as_markup(text: str) -> None:
    markup, _ = _shown(f"id {md_code(text)} end")
    assert markup.count("<code>") == 1 and "<a " not in markup and "<img" not in markup
    code = re.search(r"<code>(.*)</code>", markup)
    assert code is not None and html.unescape(code.group(1)) == text


@given(_TEXT)
@example("  - x")
@example("    indented")
@example("12) y")
@example("&lt; &amp;")
def test_md_literal_shows_any_text_as_typed(text: str) -> None:
    markup, shown = _shown(md_literal(text))
    assert "<a " not in markup and "<img" not in markup and "<code>" not in markup
    assert "<em>" not in markup and "<strong>" not in markup and "<h" not in markup
    assert shown == text.strip()


def test_md_helpers_keep_a_link_and_an_image_literal() -> None:
    assert _shown(md_literal("[x](http://evil)"))[1] == "[x](http://evil)"
    assert _shown(md_code("![i](http://evil/p.png)"))[0] == (
        "<p><code>![i](http://evil/p.png)</code></p>\n"
    )
    assert md_code("a\n\n# b") == "`a # b`"  # a blank line cannot end the span
    assert md_code("``x") == "``` ``x ```"
