"""The block splitter: what is finished, what is the tail, whatever the chunking."""

from __future__ import annotations

import random

import pytest

from relaycli.chat.blocks import CODE_BATCH, CODE_CONTEXT, LONG_LINE, TABLE_ROWS, Block, BlockSplitter

ANSWER = """# Title

A paragraph with **bold** and `code`.
- item one
  - nested


1. first
```python
def f(x):
    return x
```
After the code.

| a | b |
|---|---|
| 1 | 2 |
Done."""


def split(text: str, sizes: list[int] | None = None) -> list[Block]:
    splitter = BlockSplitter()
    blocks: list[Block] = []
    i = 0
    for size in sizes or [len(text)]:
        blocks.extend(splitter.feed(text[i : i + size]))
        i += size
    blocks.extend(splitter.feed(text[i:]))
    return blocks + splitter.finish()


def test_lines_become_blocks() -> None:
    blocks = split(ANSWER)
    assert [(b.kind, b.lines, b.indent) for b in blocks] == [
        ("prose", ("# Title",), 0),
        ("blank", (), 0),
        ("prose", ("A paragraph with **bold** and `code`.",), 0),
        ("prose", ("- item one",), 0),
        ("prose", ("- nested",), 2),
        ("blank", (), 0),  # two blank lines are one break
        ("prose", ("1. first",), 0),
        ("code_start", (), 0),
        ("code", ("def f(x):", "    return x"), 0),
        ("code_end", (), 0),
        ("blank", (), 0),  # a code block is set apart from what follows
        ("prose", ("After the code.",), 0),
        ("blank", (), 0),
        ("table", ("| a | b |", "|---|---|", "| 1 | 2 |"), 0),
        ("prose", ("Done.",), 0),
    ]
    assert {b.lang for b in blocks if b.kind.startswith("code")} == {"python"}


@pytest.mark.parametrize("seed", range(5))
def test_any_chunking_gives_the_same_blocks(seed: int) -> None:
    rng = random.Random(seed)
    sizes = [rng.randint(1, 9) for _ in range(len(ANSWER))]
    assert split(ANSWER, sizes) == split(ANSWER)


def test_the_tail_is_the_unfinished_part() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("Hello **wor") == []
    tail = splitter.tail()
    assert (tail.kind, tail.partial) == ("prose", "Hello **wor")
    assert splitter.feed("ld**\n  - sub") == [Block("prose", ("Hello **world**",))]
    tail = splitter.tail()
    assert (tail.partial, tail.indent) == ("- sub", 2)
    splitter.feed("\n```")  # a fence being typed shows nothing yet
    assert splitter.tail().empty
    splitter.feed("py\nx = 1\ny = ")
    tail = splitter.tail()
    assert (tail.kind, tail.lang, tail.lines, tail.partial) == ("code", "py", ("x = 1",), "y = ")
    splitter.feed("2\n```\n| a |\n| - |\n| 1")
    tail = splitter.tail()
    assert (tail.kind, tail.lines, tail.partial) == ("table", ("| a |", "| - |"), "| 1")


def test_a_long_code_block_commits_in_batches_with_lexer_context() -> None:
    splitter = BlockSplitter()
    splitter.feed("```rust\n")
    code: list[Block] = []
    for n in range(100):
        code.extend(b for b in splitter.feed(f"let x{n} = {n};\n") if b.kind == "code")
        tail = splitter.tail()
        assert len(tail.lines) < 2 * CODE_BATCH and len(tail.context) <= CODE_CONTEXT
    assert all(len(b.lines) == CODE_BATCH for b in code)
    assert code[0].context == () and code[1].context == code[0].lines
    assert code[-1].context[-1] == code[-2].lines[-1] and len(code[-1].context) == CODE_CONTEXT
    rest = [b for b in splitter.finish() if b.kind == "code"]
    lines = [line for b in code + rest for line in b.lines]
    assert lines == [f"let x{n} = {n};" for n in range(100)]


def test_fences_inside_a_list_item_and_longer_fences() -> None:
    blocks = split("1. step\n   ```bash\n   ls -l\n   ```\n````md\n```\nnot closed by three\n````\n")
    code = [b.lines for b in blocks if b.kind == "code"]
    assert code == [("ls -l",), ("```", "not closed by three")]


def test_an_unclosed_fence_is_closed_at_the_end() -> None:
    blocks = split("```\nprint(1)")
    assert [b.kind for b in blocks] == ["code_start", "code", "code_end"]


def test_a_long_table_commits_and_repeats_its_header() -> None:
    rows = "".join(f"| {n} | x |\n" for n in range(TABLE_ROWS + 5))
    blocks = split("| n | x |\n|---|---|\n" + rows)
    tables = [b.lines for b in blocks if b.kind == "table"]
    assert len(tables) == 2 and len(tables[0]) == TABLE_ROWS
    assert tables[1][:2] == ("| n | x |", "|---|---|")
    assert sum(len(t) for t in tables) == TABLE_ROWS + 5 + 2 + 2


def test_a_very_long_line_is_split_at_a_space_outside_markup() -> None:
    splitter = BlockSplitter()
    words = ["word"] * 200 + ["**bold", "words", "here**"] + ["word"] * 800
    text = "- " + " ".join(words)
    committed: list[Block] = []
    for i in range(0, len(text), 5):
        committed.extend(splitter.feed(text[i : i + 5]))
        assert len(splitter.tail().partial) <= LONG_LINE + 5
    committed.extend(splitter.finish())
    assert len(committed) > 1
    assert all(b.lines[0].count("**") % 2 == 0 for b in committed)
    assert committed[0].lines[0].startswith("- word") and committed[1].indent == 2  # under the item's text
    assert " ".join(b.lines[0] for b in committed) == text
