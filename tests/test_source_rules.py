"""Rules of the source tree that a reviewer would otherwise check by eye (issue #20)."""

import ast
import re
from pathlib import Path

import pytest

from treeforge import _core

ROOT = Path(__file__).resolve().parents[1]
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80
# A file may be longer when it says why in a line like this one.
LONGER_BECAUSE = re.compile(r"(#|//) longer than \d+ lines because \S")


def _sources(folder, suffixes):
    return sorted(p for p in (ROOT / folder).rglob("*") if p.suffix in suffixes and "__pycache__" not in p.parts)


def test_internal_invariants_reach_python_as_runtime_error():
    with pytest.raises(RuntimeError, match="^internal error: raised on purpose by a test$"):
        _core._testing.raise_internal_error()


def _call_arguments(text, start):
    """The text between the parenthesis at `start` and its match (parentheses inside string
    literals do not count)."""
    depth, in_string = 0, False
    for i in range(start, len(text)):
        if text[i] == '"' and text[i - 1] != "\\":
            in_string = not in_string
        elif not in_string:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                return text[start + 1:i]
    return text[start + 1:]


def test_check_messages_are_built_only_on_failure():
    # check(condition, parts...) joins its parts only when the condition fails; a message joined
    # up front ("..." + std::to_string(x)) is paid by every call, failing or not.
    joined = re.compile(r'std::to_string|std::string\(|"\s*\+|\+\s*"')
    offenders = []
    for path in _sources("cpp", {".cpp", ".hpp"}):
        text = path.read_text()
        for call in re.finditer(r"\bcheck(_internal)?\(", text):
            if joined.search(_call_arguments(text, call.end() - 1)):
                offenders.append(f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, call.start()) + 1}")
    assert not offenders, offenders


@pytest.mark.parametrize("folder, suffixes", [("cpp", {".cpp", ".hpp"}), ("python", {".py"})])
def test_no_file_is_too_long_without_a_reason(folder, suffixes):
    too_long = [str(p.relative_to(ROOT)) for p in _sources(folder, suffixes)
                if len(p.read_text().splitlines()) > MAX_FILE_LINES and not LONGER_BECAUSE.search(p.read_text())]
    assert not too_long, f"over {MAX_FILE_LINES} lines without a 'longer than N lines because' line: {too_long}"


def test_no_python_function_is_too_long():
    too_long = []
    for path in _sources("python", {".py"}):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body_start = node.body[0].lineno
                if isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
                    body_start = node.body[1].lineno if len(node.body) > 1 else node.end_lineno  # docstring excluded
                if node.end_lineno - body_start + 1 > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not too_long, too_long


def test_no_cpp_function_is_too_long_without_a_reason():
    # A definition starts at column 0 and ends at the next "}" alone on a line (the core's
    # layout); a longer one says "About N lines: why" in the comment just above it.
    head = re.compile(r"^(?!namespace|struct|class|enum|union|extern|})\S.*\{$")
    too_long = []
    for path in _sources("cpp", {".cpp", ".hpp"}):
        lines = path.read_text().splitlines()
        start = None
        for i, line in enumerate(lines):
            if start is None and head.match(line):
                start = i
            elif start is not None and line == "}":
                reason = any(re.search(r"About \d+ lines:", above) for above in lines[max(0, start - 8):start])
                if i - start + 1 > MAX_FUNCTION_LINES and not reason:
                    too_long.append(f"{path.relative_to(ROOT)}:{start + 1} ({i - start + 1} lines)")
                start = None
    assert not too_long, too_long
