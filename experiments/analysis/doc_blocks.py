"""The generated blocks of the Markdown docs: what lies between a ``begin`` and an ``end`` marker is
rewritten by the command the block names, the rest of the file is left as written by hand."""

from __future__ import annotations

from pathlib import Path


def replace_block(doc: Path, begin: str, end: str, inner: str, append: bool = False) -> bool:
    """Put ``inner`` between the markers of ``doc``; returns True if the file changed. Missing markers
    are an error, or with ``append`` a new block at the end (a new file when ``doc`` does not exist yet)."""
    text = doc.read_text(encoding="utf-8") if doc.is_file() or not append else ""
    if begin not in text or end not in text:
        if not append:
            raise SystemExit(f"{doc}: markers {begin!r} and {end!r} not found")
        text = text.rstrip("\n") + f"\n\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{begin}{inner}{end}{tail}"
    if new != text:
        doc.write_text(new, encoding="utf-8")
    return new != text
