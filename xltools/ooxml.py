"""The Office Open XML package of a workbook (.xlsx/.xlsm/.xlam): which part holds which sheet,
relationships, content types, and rewriting the zip with some parts replaced.

One place for what the streaming reader, the in-place writer, the result writer and the add-in
builder each need. Parsing is byte-level regular expressions, not an XML tree: it is on the hot
path of a batch (every submitted workbook), it never expands entities, and it reads what other
writers produce — attributes in any order, namespace prefixes, single quotes, XML escapes,
relative or absolute targets. A part whose prolog declares a DOCTYPE or ENTITY is refused
(`UnsafePart`, `declares_dtd`): Excel and WPS never write one, and entity expansion is an attack.
This module imports nothing from xltools, so intake, output and the add-in may all use it.
"""

from __future__ import annotations

import functools
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import IO, NamedTuple

WORKBOOK = "xl/workbook.xml"
CONTENT_TYPES = "[Content_Types].xml"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
WORKSHEET_REL = REL_NS + "/worksheet"
SHARED_STRINGS_REL = REL_NS + "/sharedStrings"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
NEW_PART_TIME = (1980, 1, 1, 0, 0, 0)     # timestamp of a part a package did not have


class UnsafePart(ValueError):
    """A part declares a DOCTYPE or ENTITY (no genuine workbook has one): it is not parsed."""


# --------------------------------------------------------------------------- reading parts
def _local_body(zf: zipfile.ZipFile, info: zipfile.ZipInfo):
    """The compressed bytes of a member of a package held in memory; None when zipfile must read it."""
    data = zf.fp.getbuffer() if isinstance(zf.fp, io.BytesIO) else None
    if data is None or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 1:
        return None
    names, extra = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + names + extra
    return data[start:start + info.compress_size]


def read_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """`zf.read(info)`; for a package held in memory, sliced and inflated directly (5× faster on
    the small parts of a batch of workbooks — zipfile's per-member set-up dominates there)."""
    raw = _local_body(zf, info)
    if raw is None:
        return zf.read(info)
    raw = bytes(raw)
    body = zlib.decompress(raw, -15) if info.compress_type == zipfile.ZIP_DEFLATED else raw
    if len(body) != info.file_size or zlib.crc32(body) != info.CRC:
        return zf.read(info)                   # let zipfile say what is wrong with it
    return body


def part_head(zf: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> bytes:
    """The first `size` bytes of a part, inflating no more than that."""
    raw = _local_body(zf, info)
    if raw is None:
        with zf.open(info) as fh:
            return fh.read(size)
    if info.compress_type == zipfile.ZIP_STORED:
        return bytes(raw[:size])
    return zlib.decompressobj(-15).decompress(bytes(raw), size)


def _names(zf: zipfile.ZipFile) -> Collection[str]:
    """The member names of a package, for `in` tests (zipfile's own index when it has one)."""
    index = getattr(zf, "NameToInfo", None)
    return index if isinstance(index, dict) else set(zf.namelist())


def _member(zf: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        return read_part(zf, zf.getinfo(name))
    except KeyError:
        return None


# --------------------------------------------------------------------------- hardened reading
PROLOG_BYTES = 64 * 1024
QUICK_PROLOG_BYTES = 1024
_XML_PARTS = (".xml", ".rels", ".vml")
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_ROOT = re.compile(rb"<[A-Za-z_]")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def prolog_declares_dtd(head: bytes) -> bool:
    """Does this start of an XML part declare a DOCTYPE or ENTITY before its root element, or
    does its prolog never end within PROLOG_BYTES?"""
    if head.startswith(_UTF16_BOMS):                          # UTF-16 XML
        head = head.decode("utf-16", "ignore").encode("utf-8")
    else:
        root = _ROOT.search(head)
        if root is not None and b"<!" not in head[:root.start()]:   # the usual prolog: quick
            return False
    text = _COMMENT.sub(b"", head)
    root = _ROOT.search(text)
    prolog = (text[:root.start()] if root else text).upper()
    return b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog or (root is None and len(head) >= PROLOG_BYTES)


def declares_dtd(zf: zipfile.ZipFile) -> str | None:
    """The first XML part whose prolog declares a DOCTYPE or ENTITY, or whose prolog never ends
    (no genuine workbook has either: Excel writes none, and entity expansion is a known attack)."""
    for info in zf.infolist():
        if not info.filename.lower().endswith(_XML_PARTS) or info.file_size == 0:
            continue
        head = part_head(zf, info, QUICK_PROLOG_BYTES)          # a genuine prolog fits in this: look there first
        root = _ROOT.search(head)
        if root is not None and b"<!" not in head[:root.start()] and not head.startswith(_UTF16_BOMS):
            continue
        if prolog_declares_dtd(part_head(zf, info, PROLOG_BYTES)):
            return info.filename
    return None


def _text(data: bytes | str) -> tuple[str, str]:
    """(text, encoding) of a part this module parses; refused when it declares a DTD."""
    head = data[:PROLOG_BYTES]
    if prolog_declares_dtd(head.encode("utf-8", "replace") if isinstance(head, str) else head):
        raise UnsafePart("部件含有 DOCTYPE/ENTITY 声明，不是真正的 Excel 文件，已拒绝读取")
    if isinstance(data, str):
        return data, "utf-8"
    if data.startswith(_UTF16_BOMS):
        return data.decode("utf-16"), "utf-16"
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    return data.decode("utf-8"), "utf-8"


# --------------------------------------------------------------------------- elements and attributes
_NAME = r"[A-Za-z_][\w.-]*"
_ATTRS = r"((?:\s+[\w.:-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)"
_ATTR = re.compile(r"""([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(r"&(?:#[xX]([0-9a-fA-F]+)|#(\d+)|(lt|gt|amp|quot|apos));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_WHITESPACE = str.maketrans("\t\n\r", "   ")
_QUOTE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                        "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"})


@functools.lru_cache(maxsize=None)
def _elements(local: str) -> re.Pattern:
    """Start or empty tags of elements named `local` under any prefix: (prefix, attributes)."""
    return re.compile(rf"<(?:({_NAME}):)?{local}{_ATTRS}\s*/?>")


@functools.lru_cache(maxsize=None)
def _quick(local: str) -> re.Pattern:
    return re.compile(rf"<(?:{_NAME}:)?{local}\b([^>]*)>")


def _tags(local: str, text: str) -> list[str]:
    """The attribute text of every element named `local`. Quick when no value holds a '>': in a
    document without apostrophes a value cut at '>' leaves an odd number of double quotes."""
    if "'" not in text:
        found = _quick(local).findall(text)
        if not any(t.count('"') % 2 for t in found):
            return found
    return [m.group(2) for m in _elements(local).finditer(text)]


def unescape(value: str) -> str:
    """An attribute value as an XML parser reports it (white space normalised, references resolved)."""
    if "&" not in value and "\n" not in value and "\t" not in value and "\r" not in value:
        return value
    value = value.replace("\r\n", "\n").translate(_WHITESPACE)          # line ends first, as XML reads them
    return _REF.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else
                    chr(int(m.group(2))) if m.group(2) else _NAMED[m.group(3)], value)


def quote(value: str) -> str:
    """`value` as the text of a double-quoted attribute."""
    return str(value).translate(_QUOTE)


def attributes(text: str) -> dict[str, str]:
    """Attributes of one tag's attribute text, by qualified name, values unescaped."""
    return {k: unescape(double or single) for k, double, single in _ATTR.findall(text)}   # one of the two is ""


def _tag(prefix: str | None, local: str, attrs: Iterable[tuple[str, str]]) -> str:
    name = f"{prefix}:{local}" if prefix else local
    return "<" + name + "".join(f' {k}="{quote(v)}"' for k, v in attrs) + "/>"


def _uncommented(text: str) -> str:
    return re.sub(r"<!--.*?-->", "", text, flags=re.S) if "<!--" in text else text


def _append(text: str, root: str, local: str, attrs: Iterable[tuple[str, str]]) -> str:
    """`text` with an empty element `local` (under the prefix of `root`) as the last child of `root`."""
    close = None
    for close in re.finditer(rf"</(?:({_NAME}):)?{root}\s*>", text):
        pass
    if close is not None:
        return text[:close.start()] + _tag(close.group(1), local, attrs) + text[close.start():]
    empty = re.search(rf"<(?:({_NAME}):)?{root}{_ATTRS}\s*/>", text)
    if empty is None:
        raise ValueError(f"找不到 <{root}> 元素，无法安全写入")
    prefix = empty.group(1)
    qname = f"{prefix}:{root}" if prefix else root
    opening = text[empty.start():empty.end()].removesuffix("/>").rstrip() + ">"
    return text[:empty.start()] + opening + _tag(prefix, local, attrs) + f"</{qname}>" + text[empty.end():]


def _bound_prefixes(text: str, *namespaces: str) -> list[str]:
    """Prefixes the document binds to any of `namespaces`, "r" first."""
    found = [p for p, ns in re.findall(rf"""xmlns:({_NAME})\s*=\s*["']([^"']*)["']""", text) if ns in namespaces]
    return sorted(set(found), key=lambda p: (p != "r", found.index(p)))


# --------------------------------------------------------------------------- relationships
class Relationship(NamedTuple):
    id: str
    type: str
    target: str
    external: bool


def rels_part(part: str) -> str:
    """The relationships part of `part` ("" for the package itself): xl/workbook.xml → xl/_rels/workbook.xml.rels."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def relationships(rels_xml: bytes | str, of_type: str = "") -> list[Relationship]:
    """The relationships of a .rels part (those whose Type ends in `of_type`), in document order."""
    out = []
    for tag in _tags("Relationship", _uncommented(_text(rels_xml)[0])):
        if of_type not in tag:                           # most are not asked for: skip their parsing
            continue
        a = attributes(tag)
        if a.get("Type", "").endswith(of_type):
            out.append(Relationship(a.get("Id", ""), a.get("Type", ""), a.get("Target", ""),
                                    a.get("TargetMode", "") == "External"))
    return out


def resolve(source: str, target: str, names: Collection[str] | None = None) -> str:
    """Zip path of the part `target` names, relative to the part `source` (or absolute).

    Given the package's `names`, a target some writers mistakenly write from the package root
    (Target="xl/worksheets/sheet1.xml" in xl/_rels/) is found where it really is, as Excel does."""
    path = _joined(source, target)
    if names is not None and path not in names and not target.startswith("/") and _joined("", target) in names:
        return _joined("", target)
    return path


@functools.lru_cache(maxsize=1024)
def _joined(source: str, target: str) -> str:
    """Targets repeat from workbook to workbook (worksheets/sheet1.xml …): resolved once each."""
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def relative_target(source: str, part: str) -> str:
    """The Target that names `part` from the part `source`."""
    return posixpath.relpath(part, posixpath.dirname(source) or ".")


def targets(rels_xml: bytes | str, source: str, names: Collection[str] | None = None) -> dict[str, str]:
    """Relationship id → zip path of every internal target of the part `source`."""
    return {r.id: resolve(source, r.target, names) for r in relationships(rels_xml) if not r.external}


def add_relationship(rels_xml: bytes, rel_type: str, target: str) -> tuple[bytes, str]:
    """`rels_xml` with one more relationship under a fresh id; returns (the part, that id)."""
    text, encoding = _text(rels_xml)
    taken = {r.id for r in relationships(text)}
    n = max([int(i[3:]) for i in taken if i.startswith("rId") and i[3:].isdigit()] + [0]) + 1
    while f"rId{n}" in taken:
        n += 1
    attrs = [("Id", f"rId{n}"), ("Type", rel_type), ("Target", target)]
    return _append(text, "Relationships", "Relationship", attrs).encode(encoding), f"rId{n}"


# --------------------------------------------------------------------------- content types
def content_types(types_xml: bytes | str) -> tuple[dict[str, str], dict[str, str]]:
    """({extension: type} of the Defaults, {"/part": type} of the Overrides) of [Content_Types].xml;
    extensions lower-case (OPC compares part names and extensions case-insensitively)."""
    text = _uncommented(_text(types_xml)[0])
    defaults = {a.get("Extension", "").lower(): a.get("ContentType", "")
                for a in map(attributes, _tags("Default", text))}
    overrides = {a.get("PartName", ""): a.get("ContentType", "") for a in map(attributes, _tags("Override", text))}
    return defaults, overrides


def content_type(types_xml: bytes | str, part: str) -> str | None:
    """The content type the package declares for the zip member `part`."""
    defaults, overrides = content_types(types_xml)
    name = "/" + part.lstrip("/").lower()
    found = next((t for p, t in overrides.items() if p.lower() == name), None)
    return found if found is not None else defaults.get(posixpath.splitext(name)[1][1:])


def _declare(types_xml: bytes, local: str, key: str, value: str, content: str) -> bytes:
    """[Content_Types].xml with `local` (Default/Override) `key`=`value` declaring `content`; an
    element for the same part or extension is replaced, never repeated."""
    text, encoding = _text(types_xml)
    attrs = [(key, value), ("ContentType", content)]
    for m in _elements(local).finditer(text):
        if attributes(m.group(2)).get(key, "").lower() == value.lower():
            return (text[:m.start()] + _tag(m.group(1), local, attrs) + text[m.end():]).encode(encoding)
    return _append(text, "Types", local, attrs).encode(encoding)


def add_override(types_xml: bytes, part: str, content: str) -> bytes:
    """[Content_Types].xml declaring the content type of the zip member `part`."""
    return _declare(types_xml, "Override", "PartName", "/" + part.lstrip("/"), content)


def add_default(types_xml: bytes, extension: str, content: str) -> bytes:
    """[Content_Types].xml declaring the content type of every part ending in `.extension`."""
    return _declare(types_xml, "Default", "Extension", extension.lstrip("."), content)


# --------------------------------------------------------------------------- workbook sheets
class Sheet(NamedTuple):
    name: str
    sheet_id: str
    rid: str
    state: str


def workbook_sheets(workbook_xml: bytes | str) -> list[Sheet]:
    """Every <sheet> of xl/workbook.xml, in tab order."""
    text = _uncommented(_text(workbook_xml)[0])
    ids = [f"{p}:id" for p in _bound_prefixes(text, REL_NS, STRICT_REL_NS)]
    out = []
    for a in map(attributes, _tags("sheet", text)):
        rid = next((a[k] for k in ids if k in a), None)
        if rid is None:                   # the namespace declared where this pattern does not look
            rid = next((v for k, v in a.items() if k.endswith(":id")), "")
        out.append(Sheet(a.get("name", ""), a.get("sheetId", ""), rid, a.get("state", "visible")))
    return out


def add_sheet(workbook_xml: bytes, name: str, sheet_id: int, rid: str) -> bytes:
    """xl/workbook.xml with one more sheet (the last tab), its part named by relationship `rid`.
    The relationship prefix must be in scope there: declared on <workbook> or <sheets>, else on
    the new element itself (openpyxl declares it on each <sheet>, out of a new sibling's scope)."""
    text, encoding = _text(workbook_xml)
    scope = "".join(m.group(0) for m in (re.search(rf"<(?:{_NAME}:)?{local}{_ATTRS}\s*>", text)
                                         for local in ("workbook", "sheets")) if m)
    prefixes = _bound_prefixes(scope, REL_NS, STRICT_REL_NS)
    declare = [] if prefixes else [("xmlns:r", REL_NS)]
    attrs = declare + [("name", name), ("sheetId", str(sheet_id)), (f"{prefixes[0] if prefixes else 'r'}:id", rid)]
    return _append(text, "sheets", "sheet", attrs).encode(encoding)


def sheet_paths(workbook_xml: bytes | str, rels_xml: bytes | str,
                names: Collection[str] | None = None) -> dict[str, str]:
    """Sheet name → zip path of its part ("" when its relationship is missing)."""
    by_id = targets(rels_xml, WORKBOOK, names)
    return {s.name: by_id.get(s.rid, "") for s in workbook_sheets(workbook_xml)}


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → zip part path of a package (from workbook.xml and its relationships)."""
    read = lambda name: read_part(zf, zf.getinfo(name))   # noqa: E731 — KeyError when missing
    return sheet_paths(read(WORKBOOK), read(rels_part(WORKBOOK)), _names(zf))


def worksheet_parts(zf: zipfile.ZipFile) -> list[str] | None:
    """Zip paths of the worksheets the workbook's relationships name (what python-calamine
    follows); None when the package has no workbook relationships."""
    rels = _member(zf, rels_part(WORKBOOK))
    if rels is None:
        return None
    return [resolve(WORKBOOK, r.target, _names(zf)) for r in relationships(rels, "/worksheet")
            if r.target and not r.external]


# --------------------------------------------------------------------------- writing a package
def fresh_part(names: Collection[str], stem: str, suffix: str = ".xml") -> str:
    """A part name of the form stem + number + suffix above every one the package has (xl/worksheets/sheet7.xml)."""
    form = re.compile(re.escape(stem) + r"(\d+)" + re.escape(suffix))
    return f"{stem}{max([int(m.group(1)) for m in map(form.fullmatch, names) if m] + [0]) + 1}{suffix}"


def _write(zout: zipfile.ZipFile, name: str, data: bytes, date_time: tuple, external_attr: int = 0) -> None:
    zi = zipfile.ZipInfo(name, date_time=date_time)
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.external_attr = external_attr
    zout.writestr(zi, data)


def rewrite(zin: zipfile.ZipFile, target: str | Path | IO[bytes], parts: Mapping[str, bytes], *,
            stamp: tuple | None = None) -> None:
    """Write the package `zin` to `target` with `parts`: a member of the same name is replaced where
    it stands, the others are added at the end in the given order. Every other member keeps its
    bytes, its place and its zip entry. With `stamp` every member is written anew with that
    timestamp and mode 644 instead: the same inputs give the same bytes (reproducible builds)."""
    pending = dict(parts)
    with zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = pending.pop(info.filename, None)
            if stamp is not None:
                _write(zout, info.filename, zin.read(info.filename) if data is None else data, stamp, 0o644 << 16)
            elif data is None:
                zout.writestr(info, zin.read(info.filename))
            else:
                _write(zout, info.filename, data, info.date_time)
        for name, data in pending.items():
            _write(zout, name, data, stamp or NEW_PART_TIME, 0o644 << 16 if stamp else 0)
