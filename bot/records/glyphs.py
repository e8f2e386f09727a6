"""Text a Word document can draw in its font (Arial, bot/records/layout.py): characters the font lacks, and that
Word would not draw from another font, become plain equivalents.

What is kept as typed: letters, marks and digits of every script (a person's name is never altered: Arial carries
Latin, Greek, Cyrillic, Hebrew and Arabic, and Word draws other scripts from its fallback font for that script),
spaces, and the punctuation and symbols of WGL4, the repertoire every core Windows font carries (Arial, Calibri,
Times New Roman). What is not: any other symbol (emoji, ticks and crosses, stars, dingbats), which Word draws as an
empty box. Such a symbol becomes its plain equivalent from PLAIN, else a compatibility form made of characters kept
(a mathematical bold A is an A, a circled 1 a 1), else its Unicode name in square brackets, so nothing said
is lost silently. Variation selectors and the joiner between emoji are dropped with them; private-use and unassigned
code points, which no reader could know, become "?". East Asian punctuation and full-width forms are kept with
the East Asian letters they go with.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Punctuation and symbols beyond Latin-1 that WGL4 lists (Latin-1's own, U+00A0 to U+00FF, are all kept).
WGL4_SYMBOLS = frozenset(
    "\u2013\u2014\u2015\u2017\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2032\u2033"
    "\u2039\u203a\u203c\u203e\u2044\u207f\u20a3\u20a4\u20a7\u20ac\u2105\u2113\u2116\u2122\u2126\u212e\u215b\u215c"
    "\u215d\u215e\u2190\u2191\u2192\u2193\u2194\u2195\u21a8\u2202\u2206\u220f\u2211\u2212\u2215\u2219\u221a\u221e"
    "\u221f\u2229\u222b\u2248\u2260\u2261\u2264\u2265\u2302\u2310\u2320\u2321\u25a0\u25a1\u25aa\u25ab\u25ac\u25b2"
    "\u25ba\u25bc\u25c4\u25ca\u25cb\u25cf\u25d8\u25d9\u25e6\u263a\u263b\u263c\u2640\u2642\u2660\u2663\u2665\u2666"
    "\u266a\u266b\u02c6\u02c7\u02c9\u02d8\u02d9\u02da\u02db\u02dc\u02dd\u2017\u00a0"
)
PLAIN = {
    "\u2713": "[tick]", "\u2714": "[tick]", "\u2705": "[tick]", "\u2611": "[ticked box]", "\u2610": "[box]",
    "\u2717": "[cross]", "\u2718": "[cross]", "\u274c": "[cross]", "\u2612": "[crossed box]",
    "\u2605": "*", "\u2606": "*", "\u2b50": "*", "\u2023": "-", "\u2043": "-", "\u2010": "-", "\u2011": "-",
    "\u2012": "-", "\u21d2": "=>", "\u21d0": "<=", "\u21d4": "<=>", "\u27f6": "->", "\u27f5": "<-",
    "\u2794": "->", "\u27a1": "->", "\u2b05": "<-", "\u26a0": "[warning]", "\u2757": "!", "\u2753": "?",
    "\u260e": "[telephone]", "\u2706": "[telephone]", "\u2709": "[email]", "\u20b9": "Rs", "\ufffd": "?",
}
# Variation selectors, the emoji joiner, the keycap mark and the skin-tone modifiers: parts of an emoji, meaningless
# without it.
DROPPED = frozenset("\ufe0e\ufe0f\u200d\u20e3" + "".join(chr(c) for c in range(0x1F3FB, 0x1F400)))


@lru_cache(maxsize=4096)
def _kept(char: str) -> bool:
    code = ord(char)
    if code < 0x250 or char in WGL4_SYMBOLS:  # ASCII, Latin-1 and Latin Extended-A/B
        return True
    if 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF:  # East Asian punctuation and full/half-width forms:
        return True  # drawn, like the letters around them, by the East Asian font
    kind = unicodedata.category(char)
    if kind[0] in "LMN" or kind in ("Zs", "Zl", "Zp"):
        return not _is_compatibility_letter(char)
    return kind == "Cf" and char not in DROPPED  # (direction marks and the like: not drawn, and Word knows them)


def _is_compatibility_letter(char: str) -> bool:
    """Styled letters (mathematical bold, circled, squared): drawn by few fonts, their plain letter by all."""
    decomposition = unicodedata.decomposition(char)
    return decomposition.startswith(("<font>", "<circle>", "<square>"))


@lru_cache(maxsize=4096)
def _plain(char: str) -> str:
    if char in DROPPED:
        return ""
    if char in PLAIN:
        return PLAIN[char]
    kind = unicodedata.category(char)
    if kind in ("Co", "Cn", "Cs"):
        return "?"
    compatible = unicodedata.normalize("NFKC", char)
    if compatible != char and all(_kept(c) for c in compatible):
        return compatible
    name = unicodedata.name(char, "")
    return f"[{name.lower()}]" if name else "?"


def printable(text: str) -> str:
    """`text` with every character the document's font lacks made plain (see the module's docstring)."""
    if text.isascii():
        return text
    out = []
    for char in text:
        if char in DROPPED:
            continue
        if char in PLAIN:
            out.append(PLAIN[char])
        elif _kept(char):
            out.append(char)
        else:
            out.append(_plain(char))
    return "".join(out)
