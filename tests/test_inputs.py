"""The one reader of every file the suite reads (opsproof/config/inputs.py), and the rule that it is the only one."""
from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from opsproof.config import ConfigError, inputs

ROOT = Path(__file__).resolve().parents[1]


def test_a_regular_file_reads_whole_and_a_missing_one_is_left_to_the_caller(tmp_path):
    (tmp_path / "a.yaml").write_text("a: [1, 2]\n")
    assert inputs.read_bytes(tmp_path / "a.yaml") == b"a: [1, 2]\n"
    assert inputs.load_yaml(tmp_path / "a.yaml") == {"a": [1, 2]}
    with pytest.raises(FileNotFoundError):
        inputs.read_bytes(tmp_path / "none.yaml")


@pytest.mark.parametrize("make, kind", [
    (lambda p: os.mkfifo(p), "a FIFO"),
    (lambda p: p.mkdir(), "a directory"),
    (lambda p: p.symlink_to("/dev/null"), "a character device"),
])
def test_what_is_not_a_regular_file_is_refused_unread(tmp_path, make, kind):
    make(tmp_path / "x.json")
    with pytest.raises(inputs.InputError) as caught:
        inputs.read_bytes(tmp_path / "x.json")
    assert caught.value.file == str(tmp_path / "x.json") and caught.value.problem.startswith(f"is {kind}, not")
    assert isinstance(caught.value, ConfigError), "exit 4 wherever a config error is"


def test_a_file_past_its_bound_is_refused_with_its_size(tmp_path):
    (tmp_path / "s.json").write_bytes(b"[" + b"1," * 600 + b"1]")
    with pytest.raises(inputs.InputError) as caught:
        inputs.load_json(tmp_path / "s.json", 1000, hint="a hint")
    assert str(caught.value) == f"{tmp_path / 's.json'}: 1203 bytes, at most 1000 — a hint"
    assert inputs.load_json(tmp_path / "s.json", 1203) == [1] * 601


def test_yaml_past_its_bound_names_the_list_that_made_it_so(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("a: {b: [" + "x, " * 20_000 + "]}\n")
    with pytest.raises(inputs.InputError) as caught:
        inputs.load_yaml(path, 50_000)
    assert (caught.value.key, caught.value.problem) == ("a.b", "more than 10000 items, at most 10000 (and the file is "
                                                                f"{path.stat().st_size} bytes, at most 50000)")


@pytest.mark.parametrize("raw, key, problem", [
    (b"a:\n  b: 1\n  b: 2\n", "a.b", "duplicate key 'b' at line 3 (first at line 2)"),
    (b"a: [1, 2]\nb: {c: 2026-02-30}\n", "b.c", "line 2: '2026-02-30' is not a date YAML can read (day is out of "
                                               "range for month)"),
    (b"a: 1\nb: [x, \x07]\n", "", "line 2: byte 12 cannot be in YAML (control characters are not allowed, #x07)"),
    (b"a: [1\n", "", "YAML syntax error at line 2, column 1: did not find expected ',' or ']'"),
])
def test_yaml_refusals_name_the_file_and_key_path(raw, key, problem):
    with pytest.raises(inputs.InputError) as caught:
        inputs.yaml_of(raw, "f.yaml")
    assert (caught.value.file, caught.value.key, caught.value.problem) == ("f.yaml", key, problem)


def test_yaml_documents_of_a_stream_are_named_by_their_index():
    assert inputs.yaml_of(b"a: 1\n---\nb: 2\n", "s.yaml", documents=True) == [{"a": 1}, {"b": 2}]
    with pytest.raises(inputs.InputError) as caught:
        inputs.yaml_of(b"a: 1\n---\nb: [" + b"1, " * 10_001 + b"]\n", "s.yaml", documents=True)
    assert caught.value.key == "document 1: b" and caught.value.problem == "10001 items, at most 10000"


@pytest.mark.parametrize("raw, problem", [
    (b'{"a": 1,}', "not JSON: line 1, column 9: Expecting property name enclosed in double quotes"),
    (b"\xff{}", "not UTF-8 at byte 0"),
    (b"[" * 5000 + b"]" * 5000, "5000 lists and objects in 10000 bytes: not JSON opsproof wrote (at most one per 16 "
                                "bytes)"),
    (b"[" * 2000 + b"]" * 2000 + b" " * 60_000, "not JSON this reader takes: nested too deep"),
])
def test_json_refusals_name_the_file(raw, problem):
    with pytest.raises(inputs.InputError) as caught:
        inputs.json_of(raw, "f.json")
    assert (caught.value.file, caught.value.problem) == ("f.json", problem)


# ---- the rule: every YAML or JSON file goes through the one reader

READER = {"opsproof/config/inputs.py", "opsproof/config/yamlsafe.py"}
_WHOLE_FILE_READS = {"read_text", "read_bytes", "read"}


def _reads_a_file(node: ast.AST, assigned: set[str]) -> bool:
    """`path.read_text()`, `fh.read()`, `os.read(fd, n)`, or a name assigned from one of those in the function."""
    if isinstance(node, ast.Name):
        return node.id in assigned
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in _WHOLE_FILE_READS)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _own(scope: ast.AST):
    """The nodes of a module or function, without those of the functions defined inside it (their own scopes)."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _FUNCTIONS):
            stack.extend(ast.iter_child_nodes(node))


def _violations(source: Path) -> list[str]:
    tree = ast.parse(source.read_text(), str(source))
    found = []
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
        found += [f"{node.lineno}: imports {n}" for n in names if n.split(".")[0] == "yaml"]
    scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, _FUNCTIONS)]
    for scope in scopes:
        nodes = list(_own(scope))
        assigned = {target.id for n in nodes if isinstance(n, ast.Assign) and _reads_a_file(n.value, set())
                    for target in n.targets if isinstance(target, ast.Name)}
        for n in nodes:
            if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                    and isinstance(n.func.value, ast.Name) and n.func.value.id == "json"):
                continue
            if n.func.attr == "load" or (n.func.attr == "loads" and n.args and _reads_a_file(n.args[0], assigned)):
                found.append(f"{n.lineno}: json.{n.func.attr} of a file")
    return sorted(set(found))


def test_no_module_reads_yaml_or_a_json_file_but_the_one_reader():
    """Under opsproof/ and fixtures/, YAML is imported only by the reader, and no JSON file is parsed past it
    (json.load of a file object, json.loads of a file's text): a new reader would skip the size bound, the FIFO
    check and the alias, list and nesting bounds."""
    sources = sorted(p for d in ("opsproof", "engine", "fixtures") for p in (ROOT / d).rglob("*.py"))
    assert len(sources) > 80, "the sources were not found"
    leaks = [f"{p.relative_to(ROOT)}:{v}" for p in sources if str(p.relative_to(ROOT)) not in READER
             for v in _violations(p)]
    assert not leaks, f"read these through opsproof.config.inputs: {leaks}"


@pytest.mark.parametrize("code", [
    "import yaml\n",
    "from yaml import safe_load\n",
    "import json\ndef f(fh):\n    return json.load(fh)\n",
    "import json\ndef f(p):\n    return json.loads(p.read_text())\n",
    "import json, os\ndef f(fd):\n    raw = os.read(fd, 100)\n    return json.loads(raw)\n",
])
def test_the_rule_sees_each_way_a_file_is_parsed(tmp_path, code):
    (tmp_path / "m.py").write_text(code)
    assert _violations(tmp_path / "m.py"), code


def test_the_rule_lets_text_that_is_not_a_file_through(tmp_path):
    (tmp_path / "m.py").write_text("import json\ndef f(line, proc):\n    return json.loads(line), "
                                   "json.loads(proc.stdout)\n")
    assert not _violations(tmp_path / "m.py")
