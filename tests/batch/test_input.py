"""Reading a batch's input: plain lines and JSON lines, ids, bad lines, repeated ids, done ids skipped."""

from __future__ import annotations

import io

import pytest

from relaycli.batch.input import BadLine, Defaults, DuplicateId, Item, Source, binary_lines, numbered
from relaycli.datatypes import Message


def source(text: str | bytes, **kwargs: object) -> Source:
    data = text.encode() if isinstance(text, str) else text
    defaults = kwargs.pop("defaults", Defaults("gpt-4.1-mini", explicit=False, params={"seed": 1}))
    return Source(numbered(io.BytesIO(data)), name="in.jsonl", defaults=defaults, **kwargs)  # type: ignore[arg-type]


def test_plain_lines_are_prompts_with_their_line_numbers_as_ids() -> None:
    items = list(source("first prompt\n\n  second  \r\n{not json but plain}\n"))
    assert [(i.id, i.line) for i in items] == [("1", 1), ("3", 3), ("4", 4)]
    assert all(isinstance(i, Item) for i in items)
    first = items[0]
    assert isinstance(first, Item) and first.ask.messages == (Message("user", "first prompt"),)
    assert first.ask.model == "gpt-4.1-mini" and first.ask.explicit is False and first.ask.params == {"seed": 1}
    assert isinstance(items[2], Item) and items[2].ask.messages[0].content == "{not json but plain}"


def test_json_lines_carry_ids_fields_and_body_params() -> None:
    text = (
        '{"id": "a", "prompt": "hi", "system": "be brief", "model": "gpt-4.1", "max_tokens": 5, "temperature": 0.5,'
        ' "top_p": 0.9, "seed": 7}\n'
        '{"prompt": "no id"}\n'
        '{"id": 42, "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}\n'
    )
    a, b, c = list(source(text))
    assert isinstance(a, Item) and a.id == "a"
    assert a.ask.system == "be brief" and a.ask.model == "gpt-4.1" and a.ask.explicit is True
    assert a.ask.max_tokens == 5 and a.ask.temperature == 0.5 and a.ask.params == {"seed": 7, "top_p": 0.9}
    assert isinstance(b, Item) and b.id == "2" and b.ask.explicit is False
    assert isinstance(c, Item) and c.id == "42" and [m.role for m in c.ask.messages] == ["system", "user"]


def test_the_command_line_gives_what_a_line_does_not() -> None:
    defaults = Defaults("m", system="sys", temperature=0.1, max_tokens=9)
    (item,) = list(source('{"prompt": "p"}\n', defaults=defaults))
    assert isinstance(item, Item)
    assert (item.ask.system, item.ask.temperature, item.ask.max_tokens) == ("sys", 0.1, 9)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"prompt": "a"', "not valid JSON"),
        ('{"id": "x"}', "no prompt"),
        ('{"id": "x", "prompt": "a", "messages": []}', "not both"),
        ('{"id": "x", "messages": [{"role": "robot", "content": "a"}]}', '"messages" must be'),
        ('{"id": "x", "prompt": "a", "max_tokens": 0}', "max_tokens"),
        ('{"id": "x", "prompt": "a", "temperature": 3}', "temperature"),
        ('{"id": "x", "prompt": "a", "stream": false}', "set by relay itself"),
        ('{"id": true, "prompt": "a"}', "the id must be"),
        ('{"id": "x", "prompt": "a", "x": NaN}', "not valid JSON"),
    ],
)
def test_a_bad_json_line_is_named(line: str, says: str) -> None:
    (bad,) = list(source('{"id": "ok", "prompt": "fine"}\n' + line + "\n"))[1:]
    assert isinstance(bad, BadLine) and bad.line == 2
    assert bad.error.message.startswith("in.jsonl, line 2: ") and says in bad.error.message
    parsed = '"id": "x"' in line and says != "not valid JSON"
    assert bad.id == ("x" if parsed else "2")  # a line that is not JSON is known by its line number


def test_the_first_line_decides_json_lines_unless_plain() -> None:
    entries = list(source('{"prompt": "a"}\nplain text\n'))
    assert isinstance(entries[1], BadLine) and "not valid JSON" in entries[1].error.message
    (one,) = list(source('{"prompt": "a"}\n', plain=True))
    assert isinstance(one, Item) and one.ask.messages[0].content == '{"prompt": "a"}'


def test_a_repeated_id_names_both_lines() -> None:
    entries = source('{"id": "a", "prompt": "1"}\n{"prompt": "2"}\n\n{"id": "a", "prompt": "3"}\n')
    assert next(entries).id == "a" and next(entries).id == "2"
    with pytest.raises(DuplicateId, match=r"line 4 repeats the id 'a' of line 1"):
        next(entries)


def test_an_implicit_id_can_clash_with_an_explicit_one() -> None:
    with pytest.raises(DuplicateId, match="line 2 repeats the id '2' of line 1"):
        list(source('{"id": 2, "prompt": "a"}\n{"prompt": "b"}\n'))


def test_done_ids_are_read_and_counted_but_not_yielded() -> None:
    entries = source("a\nb\nc\n", skip={"2"})
    assert [e.id for e in entries] == ["1", "3"]
    assert entries.skipped == 1 and list(entries.ids) == ["1", "2", "3"]


def test_checked_input_keeps_no_ids() -> None:
    entries = source("a\nb\n", checked=True)
    assert [e.id for e in entries] == ["1", "2"] and entries.ids == {}


def test_bom_and_bytes_that_are_not_utf8() -> None:
    entries = list(source(b"\xef\xbb\xbfhello\n\xff\xfe bad\nok\n"))
    assert isinstance(entries[0], Item) and entries[0].ask.messages[0].content == "hello"
    assert isinstance(entries[1], BadLine) and "not valid UTF-8" in entries[1].error.message
    assert isinstance(entries[2], Item)


def test_a_line_without_a_model_when_there_is_no_default() -> None:
    (bad, good) = list(source('{"prompt": "a"}\n{"prompt": "b", "model": "m"}\n', defaults=Defaults(None)))
    assert isinstance(bad, BadLine) and "no model" in bad.error.message
    assert isinstance(good, Item) and good.ask.model == "m"


def test_text_streams_are_read_as_bytes() -> None:
    assert list(binary_lines(io.StringIO("a\nb\n"))) == [b"a\n", b"b\n"]
    wrapped = io.TextIOWrapper(io.BytesIO(b"x\n"), encoding="utf-8")
    assert list(binary_lines(wrapped)) == [b"x\n"]
