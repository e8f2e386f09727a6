"""Text made safe to write into a written record (DOCX or Markdown); the store keeps every value as it was typed."""

from __future__ import annotations

import re

# Word's Shift+Enter (vertical tab) and a form feed, pasted into an answer, read as a new line; every other C0
# control character but tab, line feed and carriage return is dropped (XML 1.0 cannot carry them, so python-docx
# refuses the whole document). U+FFFE and U+FFFF are not XML characters either.
_TABLE: dict[int, str | None] = {code: None for code in range(0x20) if chr(code) not in "\t\n\r"}
_TABLE.update({0x0B: "\n", 0x0C: "\n", 0xFFFE: "\ufffd", 0xFFFF: "\ufffd"})
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """`text` as a record may carry it: \\x0b and \\x0c become a line break, \\r\\n one line break, other C0
    controls (all but tab, \\n and \\r) are removed, a surrogate pair becomes its character and a lone surrogate
    U+FFFD."""
    text = text.translate(_TABLE).replace("\r\n", "\n")
    if _SURROGATE.search(text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text
