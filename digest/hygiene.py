"""Text hygiene for every string that reaches a page or a prompt: from a model's answer (a decoded
JSON value, `clean_value`) or from a feed (`drop_controls`). Pure functions that never raise.

Per string (`clean_string`):
1. `restore_tex`: LaTeX commands whose backslash the JSON decoder swallowed are put back. A model
   writes `\\beta` or `\\frac` in a JSON string with one backslash; JSON reads `\\b`, `\\f`, `\\n`,
   `\\r`, `\\t` as backspace, form feed, newline, carriage return and tab, leaving "eta" and "rac".
2. `drop_controls`: C0 and C1 control characters other than newline and tab (carriage returns
   included, so CRLF becomes LF), and the bidirectional controls that open or close a scope
   (embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069: they can show text in another
   order than it is stored, CVE-2021-42574) are removed. The bare direction marks U+200E, U+200F
   and U+061C stay: they reorder nothing beyond themselves and are how mixed-script names are
   written correctly.
`clean_value` applies `clean_string` to every string inside a decoded JSON answer (dicts and lists
at any depth; keys, numbers, booleans and None are left as they are); it is idempotent.

The restoration rule. Backspace and form feed never occur in prose, so one followed by letters is
always a swallowed `\\b...` or `\\f...` command (`\\beta`, `\\bar`, `\\boldsymbol`, `\\frac`,
`\\forall`, `\\footnote`). Newline, tab and carriage return are real text too, so one of them is a
command only when the letters after it complete a name of `TEX_COMMANDS` and the next character is
not a letter (a newline before "nabla" is `\\nabla`; before "Next paragraph" it stays a newline). A
name whose rest after the escape letter is at most two letters ("\\nu", "\\ne", "\\ni", "\\to",
"\\tau", "\\rho", "\\rm") could be a line that starts with "u", "e.g.", "i.e.", "o", "au": it is
restored only in a string that holds other TeX (a `$...$` span, a backslash command, `^{` or `_{`)
and not before a full stop (a line that starts "e.g." stays one).
"""

from __future__ import annotations

import re

# A reasoning model's hidden plan (<think>...</think>, or an unclosed one to the end): never parsed
# as the answer, never shown on a page.
THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)

# Commands a swallowed \n, \r or \t can start (\b and \f need no list, see the module docstring).
TEX_COMMANDS = frozenset(
    """
nabla neq ne nu not neg ni notin nleq ngeq nless ngtr nmid nparallel nsubseteq nsupseteq nsim ncong nexists
newline newpage noindent nonumber nolimits normalsize natural nearrow nwarrow newcommand norm nrightarrow
nleftarrow nvdash nocite
rho right rangle rightarrow rightharpoonup rightharpoondown rightleftarrows rightleftharpoons rightrightarrows
rightsquigarrow rightthreetimes rbrace rbrack rceil rfloor rgroup rvert rVert rm rmfamily ref renewcommand
raisebox rtimes
tau theta text textbf textit textrm textsf texttt textsc textup textmd textnormal textsl textstyle textcolor
textwidth textsuperscript textsubscript textdegree textendash textemdash textless textgreater times top to tilde
triangle triangleleft triangleright trianglelefteq trianglerighteq triangleq triangledown therefore thicksim
thickapprox thinspace tfrac tbinom tiny tt ttfamily tag today tan tanh twoheadrightarrow twoheadleftarrow
""".split()
)
_ESCAPES = {"\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
_SWALLOWED = re.compile(r"([\b\f\n\r\t])([A-Za-z]+)")
_TEX_CONTEXT = re.compile(r"\\[A-Za-z]{2,}|\$[^$\n]+\$|[\^_]\{")
# Control characters other than the five JSON escapes (kept for restore_tex), then what is left of those.
_OTHER_CONTROLS = re.compile("[\x00-\x07\x0b\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LEFT_CONTROLS = re.compile("[\b\f\r]")


def _restore(match: re.Match, context: bool) -> str:
    """The command a control character and the run of letters after it stood for, or the match unchanged."""
    control, letters = match.groups()
    name = _ESCAPES[control] + letters  # the letter run is maximal: a name must be all of it
    if control in "\b\f":
        return "\\" + name
    if name not in TEX_COMMANDS:
        return match.group()
    if len(letters) <= 2 and (not context or match.string.startswith(".", match.end())):
        return match.group()
    return "\\" + name


def restore_tex(text: str) -> str:
    """`text` with each LaTeX command whose backslash a JSON decoder read as an escape put back (rule in the
    module docstring)."""
    context = bool(_TEX_CONTEXT.search(_SWALLOWED.sub(lambda m: _restore(m, False), text)))
    return _SWALLOWED.sub(lambda m: _restore(m, context), text)


def drop_controls(text: str) -> str:
    """`text` without control characters other than newline and tab, and without bidirectional scope
    controls (see the module docstring for which and why)."""
    return _LEFT_CONTROLS.sub("", _OTHER_CONTROLS.sub("", text))


def clean_string(text: str) -> str:
    """`text` with swallowed TeX commands restored, then controls removed, repeated until nothing changes
    (removing a control can bring a newline next to letters), so cleaning twice changes nothing."""
    while True:
        cleaned = drop_controls(restore_tex(_OTHER_CONTROLS.sub("", text)))
        if cleaned == text:
            return cleaned
        text = cleaned


def clean_value(value: object) -> object:
    """A decoded JSON value with `clean_string` applied to every string in it, at any depth; dict keys (field
    names, which the schema checks) and non-string scalars are returned as they are."""
    if isinstance(value, str):
        return clean_string(value)
    if isinstance(value, list):
        return [clean_value(item) for item in value]
    if isinstance(value, dict):
        return {key: clean_value(item) for key, item in value.items()}
    return value
