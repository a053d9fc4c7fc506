#!/usr/bin/env python3
"""Fails when the library's modules import each other in a cycle.

Every file under src/ (bin/ excepted) is a module: src/a/b.rs is `a::b`,
src/a/mod.rs is `a`. An edge A -> B is any path in A's code (use lines and
paths in expressions, `crate::`, `super::` and `self::` forms, brace groups
expanded, and paths through a child module declared in A) that names module B or an item in it; comments, strings and the
`#[cfg(test)]` module at the end of a file are left out. A child that uses
its parent's items counts, as does a parent that uses its children's. The
graph's strongly connected components are printed; any of more than one
module is a cycle and the script exits 1.

Usage: python3 tools/check-module-cycles.py [SRC_DIR] [--dot]
"""

import re
import sys
from pathlib import Path


def module_name(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib") or parts == ["main"]:
        parts = parts[:-1]
    return tuple(parts)


def strip(code: str) -> str:
    """Removes comments, string and char literals and the test module."""
    cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+tests\s*\{", code)
    if cut:
        code = code[: cut.start()]
    out, i, n = [], 0, len(code)
    while i < n:
        c = code[i]
        if code.startswith("//", i):
            j = code.find("\n", i)
            i = n if j < 0 else j
        elif code.startswith("/*", i):
            j = code.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "r" and re.match(r'r#*"', code[i:]) and not (i and (code[i - 1].isalnum() or code[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', code[i:]).group(1)
            j = code.find('"' + hashes, i + 2 + len(hashes))
            i = n if j < 0 else j + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            j = i + 1
            while j < n and code[j] != '"':
                j += 2 if code[j] == "\\" else 1
            i = j + 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", code[i:]):
            i += len(re.match(r"'(\\.[^']*|[^\\'])'", code[i:]).group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand(tree: str) -> list:
    """`a::{b::C, d}` -> [`a::b::C`, `a::d`]."""
    tree = re.sub(r"\s+", "", tree)
    depth, start = 0, None
    for k, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                start = k
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                prefix, inner, rest = tree[:start], tree[start + 1 : k], tree[k + 1 :]
                items, d, cur = [], 0, ""
                for c in inner:
                    if c == "," and d == 0:
                        items.append(cur)
                        cur = ""
                        continue
                    d += c == "{"
                    d -= c == "}"
                    cur += c
                items.append(cur)
                return [p for it in items if it for p in expand(prefix + it + rest)]
    return [tree.split(" as ")[0]]


def references(code: str) -> list:
    # Paths through a child module declared here (`mod tlv;` ... `tlv::read`)
    # are written without a prefix: read them as `self::tlv::...`.
    children = re.findall(r"\bmod\s+(\w+)\s*;", code)
    if children:
        alt = "|".join(children)
        code = re.sub(r"(?<![\w:])((?:" + alt + r")::)", r"self::\1", code)
    paths = []
    for m in re.finditer(r"\buse\s+((?:crate|super|self)\b[^;]*);", code):
        paths += expand(m.group(1))
    body = re.sub(r"\buse\s+(?:crate|super|self)\b[^;]*;", "", code)
    paths += re.findall(r"\b(?:crate|super|self)(?:::\w+)+", body)
    return paths


def resolve(path: str, here: tuple, is_dir_module: bool, modules: set):
    segs = [s for s in path.split("::") if s]
    if segs[0] == "crate":
        base, segs = (), segs[1:]
    elif segs[0] in ("super", "self"):
        # For a file module a::b, `self` is a::b and `super` is a; for a::mod.rs
        # (module a) likewise.
        base = here
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    else:
        return None
    best = base if base in modules else None
    cur = base
    for s in segs:
        cur = cur + (s,)
        if cur in modules:
            best = cur
        else:
            break
    return best


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    src = Path(args[0] if args else Path(__file__).resolve().parent.parent / "src")
    files = [f for f in src.rglob("*.rs") if "bin" not in f.relative_to(src).parts]
    modules = {module_name(src, f): f for f in files}
    names = set(modules)
    edges = {m: set() for m in modules}
    for m, f in modules.items():
        for p in references(strip(f.read_text())):
            t = resolve(p, m, f.name == "mod.rs", names)
            if t is not None and t != m and t != ():
                edges[m].add(t)
    edges.pop((), None)
    for m in edges:
        edges[m].discard(())

    if "--dot" in sys.argv:
        print("digraph modules {")
        for m in sorted(edges):
            for t in sorted(edges[m]):
                print(f'  "{"::".join(m)}" -> "{"::".join(t)}";')
        print("}")
        return 0

    # Tarjan's strongly connected components.
    index, low, stack, on, comps = {}, {}, [], set(), []
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    cycles = [c for c in comps if len(c) > 1]
    n_edges = sum(len(t) for t in edges.values())
    print(f"{len(edges)} modules, {n_edges} import edges, {len(cycles)} cycle(s)")
    for c in cycles:
        names_ = sorted("::".join(m) for m in c)
        print("cycle among: " + ", ".join(names_))
        for m in sorted(c):
            inside = sorted("::".join(t) for t in edges[m] if t in c)
            print(f"  {'::'.join(m)} -> {', '.join(inside)}")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
