"""Writes tests/data/body/jsondecode.json: Python's json.loads verdict on
malformed and odd bodies, for tests/unit/test_body.c.

Run with /usr/bin/python3 (CPython 3.11, as in Cog's images) from the
repository root. Each case: the body text, and either the value Python
decodes or the JSONDecodeError fields (msg, pos, lineno, colno).
"fastapi400" marks texts Python accepts but cog-fcgi answers with 400
(COG-API.md: JSON cannot carry them); "differs" marks NaN/Infinity, which
cog-fcgi refuses as "Expecting value" at the literal.
"""
import json
import os

CASES = [
    '{"input": {"text": "hi"}', 'not json', '{"input": {"text": "hi"}, "id": "re-0",}',
    '   ', '{', '[', '[1,]', '[1 2]', '{"a" 1}', '{"a": }', '{"a": 1 "b": 2}', '{1: 2}',
    '"abc', '"a\x01b"', '"a\\xb"', '"\\u12"', '"\\u12g4"', '"\\u1234', '"\\ud83d\\ude00"',
    '{"a": 1} x', '01', '1.', '1e', '-', '-a', 'tru', 'nul', '{"é": "ü", "x": ]', '{"😀": 1,, }',
    '\n\n  {"a":\n  x}', '{"a": "b"\n,\n"c"}', '[1, 2', '{"a": [1, {"b": tru}]}', '"\\', '"abc\\"',
    '[-]', '{"a":1}{', '1 2', '"\\u00e9"', '"\\/"', '{"a"', '{"a":', '{"a":1', '{"a":1,', '[1,',
    '{ }', '[ ]', '1e5', '-0.5e-3', '1E+2', '[1e]', '[0x1]', '[.5]', '{"a":1,"a":2,"b":3}',
 '"tab\there"', '{"a":\t1}', '{"a":"\\n\\t\\"\\\\\\b\\f\\r"}',
    '123456789012345678901234567890', '-9223372036854775808', '9223372036854775807', 'true', 'false',
    'null', ' {"input": {"n": 7}, "id": "sq-1"} \n', '["é😀", "\\u0000"]', '"\\ud83d\\ude0"',
    '{"input":{"x":1}}garbage', '[[[[[[]]]]]]', '{"a":[}', '{"a":{"b":[1,2,{"c":}]}}', '"😀\x02"',
    '\r\n\t[1]', '[1,\n2,\n,3]', '["\\ud800", x]', '[1e400, x]',
]
DIFFERS = ['NaN', '-Infinity', 'Infinity', '[1, NaN]']
FASTAPI400 = ['"\\ud800"', '{"a": "\\ud800\\u0041"}', '1e400', '"\\ud83d\\u0041"', '"\\ud83dx"', '[1e400, 1]']

def jansson_view(v):
    """Ints beyond 64 bits become the nearest float, as cog-fcgi keeps them."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int) and not -2**63 <= v < 2**63:
        return float(v)
    if isinstance(v, list):
        return [jansson_view(x) for x in v]
    if isinstance(v, dict):
        return {k: jansson_view(x) for k, x in v.items()}
    return v


out = []
for text in CASES:
    item = {"text": text}
    try:
        item["value"] = jansson_view(json.loads(text.encode()))
    except json.JSONDecodeError as e:
        item.update(msg=e.msg, pos=e.pos, lineno=e.lineno, colno=e.colno)
    out.append(item)
for text in DIFFERS:
    json.loads(text)  # Python accepts it
    idx = text.find("N") if "N" in text else text.find("-") if text.startswith("-") else text.find("I")
    out.append({"text": text, "differs": True, "msg": "Expecting value", "pos": idx, "lineno": 1, "colno": idx + 1})
for text in FASTAPI400:
    json.loads(text)  # Python accepts it
    out.append({"text": text, "fastapi400": True})
json.dump(out, open(os.path.join(os.path.dirname(__file__), "jsondecode.json"), "w"), indent=1)
print(len(out), "cases")
