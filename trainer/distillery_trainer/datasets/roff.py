"""Plain text out of manual pages written in roff (the man and mdoc macro packages).

Enough roff for two things: a page's NAME line (`name, name \\- description`) and the prose of
its body, paragraph by paragraph. It is no typesetter: layout requests (indents, fonts, spacing)
are dropped, conditionals and macro definitions are skipped whole, and tables and code
examples are kept out of the prose. The escapes and special character names are those of
groff(7) and groff_char(7); the macros those of groff_man(7) and groff_mdoc(7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

# groff_char(7) names of the characters man pages use; anything else becomes nothing.
SPECIAL_CHARS = {
    "em": "\u2014", "en": "\u2013", "hy": "-", "mi": "-", "aq": "'", "dq": '"', "lq": '"', "rq": '"',
    "oq": "'", "cq": "'", "bu": "\u2022", "co": "\u00a9", "rg": "\u00ae", "tm": "\u2122", "de": "\u00b0",
    "mu": "\u00d7", "di": "\u00f7", "+-": "\u00b1", "<=": "\u2264", ">=": "\u2265", "!=": "\u2260",
    "->": "\u2192", "<-": "\u2190", "ti": "~", "ha": "^", "rs": "\\", "sl": "/", "ga": "`", "ul": "_",
    "ba": "|", "br": "|", "or": "|", "pl": "+", "eq": "=", "sc": "\u00a7", "ps": "\u00b6", "dg": "\u2020",
    "Fo": "\u00ab", "Fc": "\u00bb", "Eu": "\u20ac", "eu": "\u20ac", "ss": "\u00df", "Po": "\u00a3",
    "aa": "\u00b4", "**": "*", "lB": "[", "rB": "]", "lC": "{", "rC": "}", "at": "@", "sh": "#",
    "Do": "$", "pc": "\u00b7", "fm": "\u2032", "sd": "\u2033", "ae": "\u00e6", "AE": "\u00c6",
    ":a": "\u00e4", ":o": "\u00f6", ":u": "\u00fc", ":A": "\u00c4", ":O": "\u00d6", ":U": "\u00dc",
    "'e": "\u00e9", "'a": "\u00e1", "'o": "\u00f3", "'i": "\u00ed", "'u": "\u00fa", "'E": "\u00c9",
    "`e": "\u00e8", "`a": "\u00e0", "^e": "\u00ea", ",c": "\u00e7", "~n": "\u00f1", "oa": "\u00e5",
    "/o": "\u00f8", "char92": "\\", "char46": ".",
}
# Strings (\*) the macro packages and page preambles define for quoting (pod2man's among them).
STRINGS = {
    "Aq": "'", "aq": "'", "lq": '"', "rq": '"', "Lq": '"', "Rq": '"', "R": "\u00ae", "Tm": "\u2122", "Ba": "|",
    'L"': '"', 'R"': '"', "C`": '"', "C'": '"', "--": "\u2014", "C+": "C++", "PI": "pi",
}
_SINGLE = {"e": "\\", "\\": "\\", "-": "-", " ": " ", "~": " ", "0": " ", "t": " ", "'": "'", "`": "`", ".": ".", "_": "_"}
_SILENT = set("&|^%:c)/,durpa{}zE")

_ESCAPE = re.compile(
    r"""\\(?:
        \((?P<c2>..)
      | \[(?P<cb>[^\]]*)\]
      | \*(?:\((?P<s2>..)|\[(?P<sb>[^\]]*)\]|(?P<s1>.))
      | f(?:\(..|\[[^\]]*\]|.)
      | s[-+]?(?:\(\d\d|\[[^\]]*\]|'[^']*'|\d)
      | [nmMgFY][-+]?(?:\(..|\[[^\]]*\]|.)
      | [hvwlLoXNbDSRZxB]'[^']*'
      | \$(?:\d|\*|@)
      | k.
      | (?P<single>.)
    )""",
    re.X | re.S,
)


def _special(name: str) -> str:
    if name in SPECIAL_CHARS:
        return SPECIAL_CHARS[name]
    # \[u00E9] and composites like \[u0065_0301]: code points in hex.
    if re.fullmatch(r"u[0-9A-Fa-f]{4,6}(?:_[0-9A-Fa-f]{4,6})*", name):
        return "".join(chr(int(part, 16)) for part in name[1:].split("_"))
    return ""


def _replace(match: "re.Match[str]") -> str:
    groups = match.groupdict()
    if groups["c2"] is not None:
        return _special(groups["c2"])
    if groups["cb"] is not None:
        return _special(groups["cb"])
    string = groups["s2"] or groups["sb"] or groups["s1"]
    if string is not None:
        return STRINGS.get(string, "")
    single = groups["single"]
    if single is None:  # fonts, sizes, registers, motions: layout only
        return ""
    if single in _SINGLE:
        return _SINGLE[single]
    return "" if single in _SILENT else single


def unescape(text: str) -> str:
    """Roff text (comments already removed) to plain text: `\\fBls\\fR \\- list` -> `ls - list`.

    Special characters (`\\(em`, `\\[u2014]`) become the Unicode character, quoting strings
    (`\\*(Aq`) their quote; font, size, colour and motion escapes vanish; unknown special
    characters become nothing rather than their roff name."""
    return _ESCAPE.sub(_replace, text)


def _strip_comment(line: str) -> str:
    i = 0
    while i < len(line):
        if line[i] == "\\":
            if i + 1 < len(line) and line[i + 1] in "\"#":
                return line[:i]
            i += 2
        else:
            i += 1
    return line


def _logical_lines(source: str) -> Iterator[str]:
    """Source lines with comments removed and `\\`-newline continuations joined."""
    pending = ""
    for raw in source.split("\n"):
        line = _strip_comment(raw.rstrip("\r"))
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def split_args(rest: str) -> List[str]:
    """A request's arguments: blank-separated, "double quoted" with "" for a literal quote."""
    args: List[str] = []
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t":
            i += 1
        if i >= n:
            break
        if rest[i] == '"':
            i += 1
            arg = []
            while i < n:
                if rest[i] == '"':
                    if i + 1 < n and rest[i + 1] == '"':
                        arg.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                arg.append(rest[i])
                i += 1
            args.append("".join(arg))
        else:
            start = i
            while i < n and rest[i] not in " \t":
                i += 1
            args.append(rest[start:i])
    return args


@dataclass
class Event:
    """One thing a page says: `section` (heading text), `break` (paragraph end), `text` (a run
    of words; `glue` when it attaches to the previous word), `name` / `description` (mdoc's .Nm
    and .Nd in the NAME section). `verbatim` text is code (.nf, .EX, .SY blocks)."""

    kind: str
    text: str = ""
    verbatim: bool = False
    glue: bool = False


_JOINED_FONT_MACROS = {"BR", "BI", "IB", "IR", "RB", "RI"}
_SPACED_FONT_MACROS = {"B", "I", "SM", "SB"}
_BREAKS = {"PP", "LP", "P", "sp", "br", "HP", "RS", "RE", "in", "ti", "bp", "Pp", "Bl", "El", "ce"}
_DEFINITIONS = {"de", "de1", "dei", "am", "am1", "ami", "ig"}
_CONDITIONALS = {"if", "ie", "el", "while"}
_SKIPPED_BLOCKS = {"TS": "TE", "EQ": "EN", "PS": "PE"}
_VERBATIM_BLOCKS = {"nf": "fi", "EX": "EE", "SY": "YS"}


def events(source: str) -> Iterator[Event]:
    """The page as a stream of `Event`s, in source order."""
    lines = list(_logical_lines(source))
    i = 0
    verbatim_end: Optional[str] = None
    tag_pending = heading_pending = False
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.startswith((".", "'")):
            if heading_pending:
                heading_pending = False
                yield Event("section", unescape(line).strip())
                continue
            if not line.strip() or line[0] in " \t":
                yield Event("break")
            if line.strip():
                yield Event("text", unescape(line), verbatim=verbatim_end is not None)
            if tag_pending:
                tag_pending = False
                yield Event("break")
            continue
        body = line[1:].lstrip(" \t")
        name, _, rest = body.partition(" ")
        name = name.split("\t")[0]
        if name in _DEFINITIONS:
            end = "." + (split_args(rest)[0] if name == "ig" and rest.strip() else ".")
            while i < len(lines) and lines[i].strip() not in (end, ". ."):
                i += 1
            i += 1
            continue
        if name in _CONDITIONALS or name.startswith(("if\\", "ie\\", "el\\")):
            depth = line.count("\\{") - line.count("\\}")
            while depth > 0 and i < len(lines):
                depth += lines[i].count("\\{") - lines[i].count("\\}")
                i += 1
            continue
        if name in _SKIPPED_BLOCKS:
            end = "." + _SKIPPED_BLOCKS[name]
            while i < len(lines) and not lines[i].startswith(end):
                i += 1
            i += 1
            yield Event("break")
            continue
        if name in _VERBATIM_BLOCKS:
            verbatim_end = _VERBATIM_BLOCKS[name]
            yield Event("break")
            continue
        if verbatim_end is not None and name == verbatim_end:
            verbatim_end = None
            yield Event("break")
            continue
        if name == "Bd":
            if "-literal" in rest or "-unfilled" in rest:
                verbatim_end = "Ed"
            yield Event("break")
            continue
        args = split_args(rest)
        if name in ("SH", "SS", "Sh", "Ss"):
            yield Event("break")
            if args:
                yield Event("section", unescape(" ".join(args)).strip())
            else:
                heading_pending = True
            continue
        if name in ("TP", "TQ"):
            yield Event("break")
            tag_pending = True
            continue
        if name in ("IP", "It"):
            yield Event("break")
            continue
        if name in _BREAKS:
            yield Event("break")
            continue
        if name in _SPACED_FONT_MACROS and args:
            yield Event("text", unescape(" ".join(args)), verbatim=verbatim_end is not None)
        elif name in _JOINED_FONT_MACROS and args:
            yield Event("text", unescape("".join(args)), verbatim=verbatim_end is not None)
        elif name in ("UE", "ME") and args:
            yield Event("text", unescape(args[0]), glue=True)
        elif name == "Nm" and args:
            yield Event("name", unescape(" ".join(args)))
        elif name == "Nd":
            yield Event("description", unescape(" ".join(args)))
        else:
            continue
        if tag_pending:
            tag_pending = False
            yield Event("break")


def so_target(source: str) -> Optional[str]:
    """The page a `.so man3/foo.3` link page includes, or None for a page of its own."""
    for line in _logical_lines(source):
        if not line.strip() or line.startswith((".\\\"", "'\\\"")) or line.strip() in (".", "'"):
            continue
        match = re.match(r"^\.\s*so\s+(\S+)", line)
        return match.group(1) if match else None
    return None


_SEPARATOR = re.compile(r"\s+(?:--?|\u2014|\u2013)\s+")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def name_line(source: str) -> Optional[Tuple[str, str]]:
    """(names, description) of the NAME section, e.g. ("open, openat, creat", "open and possibly
    create a file"); None when the page has no NAME section or no `name - description` in it."""
    in_name = False
    pieces: List[str] = []
    mdoc_names: List[str] = []
    mdoc_description: Optional[str] = None
    for event in events(source):
        if event.kind == "section":
            if in_name:
                break
            in_name = event.text.upper() == "NAME"
        elif not in_name:
            continue
        elif event.kind == "text":
            pieces.append(event.text)
        elif event.kind == "name":
            mdoc_names.extend(n.strip() for n in event.text.split(",") if n.strip() and n.strip() != ",")
        elif event.kind == "description":
            mdoc_description = event.text
    if mdoc_names and mdoc_description:
        return ", ".join(mdoc_names), _squash(mdoc_description)
    parts = _SEPARATOR.split(_squash(" ".join(pieces)), maxsplit=1)
    names = parts[0].strip().rstrip(",").strip() if len(parts) == 2 else ""
    if not names or not parts[1].strip():
        return None
    return names, parts[1].strip()


def body_paragraphs(source: str, skip_sections: Tuple[str, ...] = ()) -> List[str]:
    """The prose paragraphs of a page, each as one line of plain text: verbatim blocks, tables
    and the sections named in `skip_sections` (upper case) are left out."""
    paragraphs: List[str] = []
    current: List[str] = []
    skipping = True  # nothing before the first heading is prose (title, preamble)

    def flush() -> None:
        text = _squash("".join(current))
        if text:
            paragraphs.append(text)
        current.clear()

    for event in events(source):
        if event.kind == "section":
            flush()
            skipping = event.text.upper() in skip_sections
        elif event.kind == "break":
            flush()
        elif event.kind == "text" and not skipping and not event.verbatim:
            current.append(event.text if event.glue or not current else " " + event.text)
    flush()
    return paragraphs
