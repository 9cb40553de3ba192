"""Check the relative links of the repository's markdown files, anchors included.

A link ``[text](path#anchor)`` is broken when ``path`` does not exist (relative to the
linking file) or when ``path`` is a markdown file without a heading whose GitHub anchor is
``anchor``. Links with a scheme (``https:``, ``mailto:``) are not followed; fenced code
blocks are skipped on both sides (their ``#`` lines are no headings).

Usage::

    python tools/misc/check_doc_links.py [ROOT]

prints one line per broken link (``file:line: target: why``) and exits 1 if there is any
(2 if ROOT is not a folder).
"""
import argparse
import os
import os.path as osp
import re
import subprocess
import sys
from typing import Dict, Iterator, List, Optional, Set, Tuple

LINK = re.compile(r'\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
HEADING = re.compile(r'^#{1,6}\s+(.*?)\s*#*\s*$')
SKIPPED_DIRS = {'work_dirs', 'node_modules', '__pycache__'}


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation other than ``-`` and
    ``_`` removed, each space a hyphen (so ``a & b`` gives ``a--b``)."""
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return text.replace(' ', '-')


def _prose_lines(text: str) -> Iterator[Tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    fence: Optional[str] = None
    for number, line in enumerate(text.split('\n'), 1):
        stripped = line.lstrip()
        if fence is None and stripped.startswith(('```', '~~~')):
            fence = stripped[:3]
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        yield number, line


def anchors(text: str) -> Set[str]:
    """Every anchor of a markdown text; repeated headings get ``-1``, ``-2`` ... as on
    GitHub."""
    found: Set[str] = set()
    seen: Dict[str, int] = {}
    for _, line in _prose_lines(text):
        match = HEADING.match(line)
        if match:
            anchor = github_anchor(match.group(1))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            found.add(anchor if count == 0 else f'{anchor}-{count}')
    return found


def markdown_files(root: str) -> List[str]:
    """The markdown files of ``root``: git's tracked and untracked-but-not-ignored ones in
    a checkout, else every one outside hidden and build folders."""
    if osp.isdir(osp.join(root, '.git')):
        out = subprocess.run(
            ['git', '-C', root, 'ls-files', '--cached', '--others', '--exclude-standard',
             '*.md'], capture_output=True, text=True, check=True).stdout
        return sorted(osp.join(root, p) for p in out.split('\n')
                      if p and osp.isfile(osp.join(root, p)))
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith('.') and d not in SKIPPED_DIRS]
        files += [osp.join(folder, n) for n in names if n.endswith('.md')]
    return sorted(files)


def broken_links(root: str) -> List[str]:
    """``file:line: target: why`` for every broken relative link under ``root``."""
    cache: Dict[str, Set[str]] = {}
    problems = []
    for path in markdown_files(root):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        for number, line in _prose_lines(text):
            for match in LINK.finditer(line):
                target = match.group(1).strip('<>')
                if re.match(r'[A-Za-z][A-Za-z0-9+.-]*:', target):
                    continue
                file_part, _, anchor = target.partition('#')
                dest = osp.normpath(osp.join(osp.dirname(path), file_part)) if file_part else path
                where = f'{osp.relpath(path, root)}:{number}: {target}'
                if not osp.exists(dest):
                    problems.append(f'{where}: no such file')
                    continue
                if anchor and dest.endswith('.md'):
                    if dest not in cache:
                        with open(dest, encoding='utf-8') as f:
                            cache[dest] = anchors(f.read())
                    if anchor not in cache[dest]:
                        problems.append(f'{where}: no heading with this anchor in '
                                        f'{osp.relpath(dest, root)}')
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', nargs='?', default=osp.join(osp.dirname(__file__), '..', '..'))
    args = parser.parse_args(argv)
    if not osp.isdir(args.root):
        print(f'check_doc_links: {args.root} is not a folder; give the repository root')
        return 2
    problems = broken_links(osp.abspath(args.root))
    for line in problems:
        print(line)
    print(f'{len(problems)} broken link(s)' if problems else 'all links resolve')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
