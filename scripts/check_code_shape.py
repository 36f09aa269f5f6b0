#!/usr/bin/python3
"""The code's shape, checked (CTest `code_shape`): the layers' include rules and the length of functions.

Layers, lowest first (docs/architecture.md, "Layers"): a file may include files of its own layer and of the
layers below it, never above; within src/ the core's folders are ordered the same way. Every quoted include
("dir/file.h") is resolved against the source roots (., src). A function body is at most MAX_LINES lines
(the pickle interpreter's opcode switch, `Interpreter::step` in src/model/torch_save_format.cpp, is the one
named exception: one case per opcode).

Usage: check_code_shape.py [ROOT]   exit 0 when clean, 1 with one line per violation.
"""
import re
import sys
from pathlib import Path

MAX_LINES = 80
# (layer, path prefixes), lowest first; a file belongs to the first layer whose prefix it starts with.
LAYERS = [
    ("common", ["src/common/"]),
    ("text", ["src/text/"]),
    ("data", ["src/data/"]),
    ("model", ["src/model/"]),
    ("search", ["src/search/"]),
    ("eval", ["src/eval/"]),
    ("router", ["src/router/"]),
    ("config", ["src/config/"]),
    ("train", ["src/train/"]),
    ("h5data", ["h5data/"]),
    ("mpi", ["mpi/comm.", "mpi/tensor_comm.", "mpi/parallel_h5.", "mpi/distributed_topk.", "mpi/sharded_index.",
             "mpi/query_blocks.", "mpi/mpi_collectives."]),
    ("stages", ["mpi/stages/"]),
    ("commands", ["mpi/commands/", "mpi/cli", "mpi/main"]),
]
LONG_FUNCTION_EXCEPTIONS = {("src/model/torch_save_format.cpp", "step")}
SOURCES = ["src", "h5data", "mpi"]


def layer_of(path):
    for i, (name, prefixes) in enumerate(LAYERS):
        if any(path.startswith(p) for p in prefixes):
            return i, name
    return None, None


def resolve(root, include):
    for base in (root, root / "src"):
        candidate = base / include
        if candidate.is_file():
            return candidate.relative_to(root).as_posix()
    return None


def include_violations(root, files):
    problems, graph = [], {}
    for f in files:
        rel = f.relative_to(root).as_posix()
        mine, my_name = layer_of(rel)
        graph[rel] = []
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            target = resolve(root, m.group(1))
            if target is None:
                continue
            graph[rel].append(target)
            theirs, their_name = layer_of(target)
            if mine is not None and theirs is not None and theirs > mine:
                problems.append(f"{rel}:{n}: includes {m.group(1)} ({their_name}), above its layer ({my_name})")
    return problems, graph


def cycles(graph):
    """Include circles between files (a header pair that includes each other, or longer)."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                found.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def strip(text):
    """The text with comments, string and character literals blanked (line breaks kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (j - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def long_functions(root, files):
    """Function bodies longer than MAX_LINES: a '{' at namespace or class level preceded by ')' (with
    qualifiers) opens a function; its length is counted from that line to the matching '}'."""
    problems = []
    for f in files:
        rel = f.relative_to(root).as_posix()
        text = strip(f.read_text(encoding="utf-8"))
        depth, scopes = 0, []  # scopes: (kind, start line, name) per open brace
        line = 1
        for i, c in enumerate(text):
            if c == "\n":
                line += 1
            elif c == "{":
                head = text[max(0, i - 400):i]
                in_function = any(k == "function" for k, _, _ in scopes)
                m = re.search(r"(\w+)\s*\([^;{}]*\)\s*(const|override|noexcept|final|->[^{;]*|\s)*$", head)
                kind = "function" if (m and not in_function and m.group(1) not in
                                      ("if", "for", "while", "switch", "catch")) else "block"
                scopes.append((kind, line, m.group(1) if m else ""))
            elif c == "}" and scopes:
                kind, start, name = scopes.pop()
                if kind == "function" and line - start + 1 > MAX_LINES and (rel, name) not in LONG_FUNCTION_EXCEPTIONS:
                    problems.append(f"{rel}:{start}: {name}() is {line - start + 1} lines (at most {MAX_LINES})")
    return problems


def main(argv):
    root = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parent.parent)
    files = sorted(p for d in SOURCES for p in (root / d).rglob("*") if p.suffix in (".h", ".cpp", ".in"))
    problems, graph = include_violations(root, files)
    problems += [f"include circle: {c}" for c in cycles(graph)]
    problems += long_functions(root, files)
    for p in problems:
        print(p)
    print(f"check_code_shape: {len(files)} files, {sum(map(len, graph.values()))} includes, "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
