"""The documentation (README.md, docs/*.md) holds together and the repository stands on its own.

* Every relative Markdown link resolves to a file or directory of the repository, and every
  ``#anchor`` into a Markdown page names one of its headings (GitHub's slug rules).
* Every test cited in the docs as ``tests/<file>.py::<test_name>`` exists.
* No tracked file refers to notes or paper texts outside the repository: the docs restate
  everything the code relies on.

Plain Python only (no JAX): ``python -m pytest -q -p no:cacheprovider tests/test_docs.py``.
"""

import os
import re
import subprocess
import unicodedata
from urllib.parse import unquote

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
THIS_FILE = "tests/test_docs.py"

FENCE = re.compile(r"^(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target); the target may carry a "title"
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CITED_TEST = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)")
EXTERNAL = ("http://", "https://", "mailto:", "ftp://")


def markdown_files():
    """README.md and docs/*.md (absolute paths)."""
    files = [os.path.join(ROOT, "README.md")]
    if os.path.isdir(DOCS):
        files += sorted(os.path.join(DOCS, f) for f in os.listdir(DOCS) if f.endswith(".md"))
    return [f for f in files if os.path.isfile(f)]


def _prose_lines(text):
    """(line number, line) outside fenced code blocks, with inline code removed."""
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line.strip()):
            inside = not inside
            continue
        if not inside:
            yield number, INLINE_CODE.sub("", line)


def links(path):
    """[(line, target)] of the inline and reference-style links of a Markdown file."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = []
    for number, line in _prose_lines(text):
        out += [(number, m.group(1)) for m in LINK.finditer(line)]
        m = REFERENCE_DEF.match(line)
        if m:
            out.append((number, m.group(1)))
    return out


def slug(heading):
    """GitHub's anchor of a heading: the rendered text, lower-cased, with everything but
    letters, marks, digits, '_', '-' and spaces removed, then spaces turned into '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.replace("`", "")
    text = re.sub(r"(\*\*|__|\*)(.+?)\1", r"\2", text)  # emphasis markers (not snake_case)
    kept = []
    for ch in text.strip().lower():
        cat = unicodedata.category(ch)
        if cat[0] in "LMN" or ch in "_- ":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def anchors(path):
    """The set of anchors GitHub generates for the headings of a Markdown file (duplicates get
    -1, -2, ...), plus explicit <a name=...>/<a id=...> anchors."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    seen, out = {}, set()
    inside = False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            inside = not inside
            continue
        if inside:
            continue
        m = HEADING.match(line)
        if m:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            out.add(base if n == 0 else f"{base}-{n}")
            seen[base] = n + 1
        out.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", line))
    return out


def _relative_links():
    """[(source file, line, target)] of every relative link in README.md and docs/*.md."""
    out = []
    for path in markdown_files():
        for number, target in links(path):
            if target.startswith(EXTERNAL):
                continue
            out.append((path, number, target))
    return out


def check_link(source, target):
    """None if ``target`` (as written in ``source``) resolves, else the reason."""
    file_part, _, anchor = target.partition("#")
    file_part = unquote(file_part)
    if file_part:
        resolved = os.path.normpath(os.path.join(os.path.dirname(source), file_part))
        if os.path.relpath(resolved, ROOT).startswith(".."):
            return "points outside the repository"
        if not os.path.exists(resolved):
            return "no such file"
    else:
        resolved = source
    if anchor and resolved.endswith(".md"):
        if unquote(anchor) not in anchors(resolved):
            return f"no heading with the anchor #{anchor} in {os.path.relpath(resolved, ROOT)}"
    return None


def test_docs_pages_exist():
    """The pages the package's docstrings and error messages refer to."""
    for name in ("index.md", "qpc.md", "emission.md", "fitting.md", "batch-gpu.md", "equations.md",
                 "errata-blaas-anselmi2022.md", "errata-buret2020.md"):
        assert os.path.isfile(os.path.join(DOCS, name)), name


def test_slug_rules():
    assert slug("Eq. 5: the h → 0 limit") == "eq-5-the-h--0-limit"
    assert slug("`YieldTable` accuracy") == "yieldtable-accuracy"
    assert slug("Special functions (`jaxqpc.special`)") == "special-functions-jaxqpcspecial"
    assert slug("power_left and P_R") == "power_left-and-p_r"
    assert slug("Why **AIES** is the default") == "why-aies-is-the-default"


def test_relative_links_resolve():
    found = _relative_links()
    assert len(found) > 50, "the docs should link their sources, tests and each other"
    bad = []
    for source, number, target in found:
        reason = check_link(source, target)
        if reason:
            bad.append(f"{os.path.relpath(source, ROOT)}:{number}: ({target}) {reason}")
    print(f"\n{len(found)} relative links checked in {len(markdown_files())} Markdown files")
    assert not bad, "broken links:\n" + "\n".join(bad)


def test_cited_tests_exist():
    """Every ``tests/<file>.py::<test_name>`` cited in the docs names an existing test function."""
    bad, count = [], 0
    for path in markdown_files():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for file_name, test_name in CITED_TEST.findall(text):
            count += 1
            full = os.path.join(ROOT, file_name)
            if not os.path.isfile(full):
                bad.append(f"{os.path.relpath(path, ROOT)}: {file_name} does not exist")
                continue
            with open(full, encoding="utf-8") as f:
                source = f.read()
            if not re.search(rf"^\s*def {re.escape(test_name)}\(", source, re.MULTILINE):
                bad.append(f"{os.path.relpath(path, ROOT)}: {file_name}::{test_name} does not exist")
    assert count > 0
    assert not bad, "\n".join(bad)


def _tracked_files():
    try:
        done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return [p for p in done.stdout.decode("utf-8").split("\0") if p]


FORBIDDEN = ("PHYSICS_" + "NOTES", "../" + "shared")  # split so that this file does not match itself


def test_no_tracked_file_refers_outside_the_repository():
    """The repository stands on its own: no tracked file cites notes or paper texts kept outside it."""
    files = _tracked_files()
    if files is None:
        pytest.skip("not a git checkout")
    bad = []
    for rel in files:
        if rel == THIS_FILE or rel.startswith(".ci/"):
            continue
        full = os.path.join(ROOT, rel)
        if not os.path.isfile(full):
            continue
        with open(full, "rb") as f:
            data = f.read()
        for word in FORBIDDEN:
            if word.encode() in data:
                lines = [i + 1 for i, line in enumerate(data.splitlines()) if word.encode() in line]
                bad.append(f"{rel}: {word} on line(s) {lines[:10]}")
    assert not bad, "files that refer outside the repository:\n" + "\n".join(bad)
