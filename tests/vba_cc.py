"""VBA conditional compilation, as Excel's VBA compiler applies it to one module.

Rules (VBA language spec, §3.4 "Conditional Compilation"): `#Const` defines a constant private
to its module (only when it sits in a branch that compiles); `#If/#ElseIf/#Else/#End If` pick
the first branch whose expression is true; a name never defined is Empty, which equals "" and 0
in comparisons. The predefined constants are those of 64-bit Excel on Windows.
Used by tests/test_addin.py to read the built add-in the way Excel would compile it.
"""

from __future__ import annotations

import re

WIN64_EXCEL = {"VBA7": True, "VBA6": True, "WIN64": True, "WIN32": True, "WIN16": False, "MAC": False}
EMPTY = None

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"]|"")*")|(?P<num>&H[0-9A-Fa-f]+|\d+(?:\.\d+)?)|(?P<op><>|<=|>=|[=<>()+\-*/&])'
                    r"|(?P<name>[A-Za-z_]\w*))")


class CCError(ValueError):
    """The conditional-compilation lines are malformed (Excel: 'Compile error')."""


def strip_comment(line: str) -> str:
    out, in_str = [], False
    for ch in line:
        if ch == '"':
            in_str = not in_str
        elif ch == "'" and not in_str:
            break
        out.append(ch)
    return "".join(out).strip()


def _tokens(expr: str) -> list[tuple[str, object]]:
    pos, out = 0, []
    expr = expr.rstrip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise CCError(f"bad #If expression: {expr!r}")
        pos = m.end()
        if m.group("str") is not None:
            out.append(("val", m.group("str")[1:-1].replace('""', '"')))
        elif m.group("num") is not None:
            n = m.group("num")
            out.append(("val", int(n[2:], 16) if n.upper().startswith("&H") else float(n)))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            word = m.group("name")
            if word.upper() in ("AND", "OR", "NOT", "XOR"):
                out.append(("op", word.upper()))
            elif word.upper() in ("TRUE", "FALSE"):
                out.append(("val", word.upper() == "TRUE"))
            else:
                out.append(("name", word.upper()))
    return out


def _compare(a, b, op: str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        a = "" if a is EMPTY else a
        b = "" if b is EMPTY else b
        if isinstance(a, bool) or isinstance(b, bool) or not (isinstance(a, str) and isinstance(b, str)):
            a, b = str(a), str(b)
    else:
        a = 0 if a is EMPTY else (-1 if a is True else (0 if a is False else a))
        b = 0 if b is EMPTY else (-1 if b is True else (0 if b is False else b))
    return {"=": a == b, "<>": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


def evaluate(expr: str, consts: dict[str, object]):
    toks = _tokens(expr)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else ("end", None)

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def atom():
        kind, value = take() if pos < len(toks) else ("end", None)
        if kind == "val":
            return value
        if kind == "name":
            return consts.get(value, EMPTY)
        if (kind, value) == ("op", "("):
            v = disj()
            if take() != ("op", ")"):
                raise CCError(f"missing ')' in {expr!r}")
            return v
        if (kind, value) == ("op", "NOT"):
            return not _truth(atom())
        if (kind, value) == ("op", "-"):
            return -(atom() or 0)
        raise CCError(f"bad #If expression: {expr!r}")

    def comparison():
        left = atom()
        while peek()[0] == "op" and peek()[1] in ("=", "<>", "<", ">", "<=", ">="):
            op = take()[1]
            left = _compare(left, atom(), op)
        return left

    def conj():
        left = comparison()
        while peek() == ("op", "AND"):
            take()
            right = comparison()
            left = _truth(left) and _truth(right)
        return left

    def disj():
        left = conj()
        while peek()[0] == "op" and peek()[1] in ("OR", "XOR"):
            op = take()[1]
            right = conj()
            left = (_truth(left) or _truth(right)) if op == "OR" else (_truth(left) != _truth(right))
        return left

    value = disj()
    if pos != len(toks):
        raise CCError(f"bad #If expression: {expr!r}")
    return value


def compile_module(source: str, predefined: dict[str, object] = WIN64_EXCEL) -> tuple[list[str], dict[str, object]]:
    """The lines of one module that Excel compiles, and the module's #Const values."""
    consts = {k.upper(): v for k, v in predefined.items()}
    stack: list[list[bool]] = []     # per open #If: [this branch active, some branch taken, parent active]
    active = True
    out = []
    for raw in source.replace("\r\n", "\n").split("\n"):
        line = strip_comment(raw)
        m = re.match(r"#(\w+)\b\s*(.*)$", line, flags=re.I)
        if not m:
            if active:
                out.append(raw)
            continue
        word, rest = m.group(1).upper(), m.group(2)
        if word == "CONST":
            c = re.match(r"([A-Za-z_]\w*)\s*=\s*(.+)$", rest)
            if not c:
                raise CCError(f"bad #Const: {raw!r}")
            if active:
                consts[c.group(1).upper()] = evaluate(c.group(2), consts)
        elif word == "IF":
            cond = re.match(r"(.+?)\s+Then$", rest, flags=re.I)
            if not cond:
                raise CCError(f"#If without Then: {raw!r}")
            taken = active and bool(_truth(evaluate(cond.group(1), consts)))
            stack.append([taken, taken, active])
            active = taken
        elif word == "ELSEIF":
            if not stack:
                raise CCError(f"#ElseIf without #If: {raw!r}")
            cond = re.match(r"(.+?)\s+Then$", rest, flags=re.I)
            if not cond:
                raise CCError(f"#ElseIf without Then: {raw!r}")
            top = stack[-1]
            taken = top[2] and not top[1] and bool(_truth(evaluate(cond.group(1), consts)))
            top[0], top[1] = taken, top[1] or taken
            active = taken
        elif word == "ELSE":
            if not stack:
                raise CCError(f"#Else without #If: {raw!r}")
            top = stack[-1]
            taken = top[2] and not top[1]
            top[0], top[1] = taken, True
            active = taken
        elif word == "END" and rest.upper().startswith("IF"):
            if not stack:
                raise CCError(f"#End If without #If: {raw!r}")
            active = stack.pop()[2]
        else:
            raise CCError(f"unknown directive: {raw!r}")
    if stack:
        raise CCError("#If without #End If")
    return out, consts


def _truth(v) -> bool:
    return bool(v) and v is not EMPTY and v != ""


def procedures(lines: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Compiled Sub/Function name → (signature line, body lines)."""
    procs, current = {}, None
    for line in lines:
        code = strip_comment(line)
        head = re.match(r"(?:(?:Public|Private|Friend|Static)\s+)*(Sub|Function)\s+(\w+)\s*\(", code, flags=re.I)
        if head and current is None:
            current = head.group(2)
            procs[current] = (code, [])
        elif re.match(r"End\s+(Sub|Function)$", code, flags=re.I):
            current = None
        elif current is not None and code:
            procs[current][1].append(code)
    return procs


def constant(lines: list[str], name: str) -> str | None:
    """The string value of `[Public|Private] Const name As String = "..."` in compiled lines."""
    for line in lines:
        m = re.match(rf'\s*(?:(?:Public|Private)\s+)?Const\s+{name}\s+As\s+String\s*=\s*"([^"]*)"', line, flags=re.I)
        if m:
            return m.group(1)
    return None


def vba_modules(path) -> dict[str, str]:
    """Module name → source of every VBA module in an Office file (as oletools extracts them)."""
    from oletools.olevba import VBA_Parser
    parser = VBA_Parser(str(path))
    try:
        return {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()
