"""The golden protocol fixtures decode (valid) or are rejected (invalid) in both directions."""

import os
import unittest

from cog._protocol import (
    ProtocolError,
    decode_from_server,
    decode_from_worker,
    encode,
    encode_done,
    encode_output,
    encode_value,
)

from ._harness import REPO_ROOT

FIXTURES = os.path.join(REPO_ROOT, "tests", "fixtures", "protocol")


def _lines(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return [line for line in handle.read().splitlines() if line.strip()]


class GoldenFixtureTest(unittest.TestCase):
    def test_every_worker_to_server_line_is_accepted(self):
        lines = _lines("worker_to_server.jsonl")
        self.assertGreater(len(lines), 10)
        for line in lines:
            with self.subTest(line=line[:60]):
                message = decode_from_worker(line)
                self.assertEqual(message["v"], 1)

    def test_every_server_to_worker_line_is_accepted(self):
        for line in _lines("server_to_worker.jsonl"):
            with self.subTest(line=line[:60]):
                decode_from_server(line)

    def test_every_invalid_line_is_rejected_in_both_directions(self):
        lines = _lines("invalid.jsonl")
        self.assertGreater(len(lines), 5)
        for line in lines:
            for decode in (decode_from_worker, decode_from_server):
                with self.subTest(line=line, direction=decode.__name__):
                    with self.assertRaises(ProtocolError):
                        decode(line)

    def test_worker_lines_are_not_valid_server_messages(self):
        for line in _lines("worker_to_server.jsonl"):
            with self.assertRaises(ProtocolError):
                decode_from_server(line)

    def test_encode_round_trips_and_is_one_line(self):
        message = {"v": 1, "type": "log", "id": None, "source": "stdout", "data": "a\nb ü\n"}
        data = encode(message)
        self.assertTrue(data.endswith(b"\n"))
        self.assertEqual(data.count(b"\n"), 1)
        self.assertIn("ü".encode(), data)
        self.assertEqual(decode_from_worker(data), message)

    def test_output_and_done_built_from_pieces_are_what_encode_makes(self):
        ids = ["pred_1", 'q"uo\\te', "ü\u2028", "\ud800", "\x00"]
        values = ["hello", "", "\ud800 lone", "ü\u2028\x00\"\\", 2 ** 80, -1, 1.5, True, None,
                  {"a": [1, 2.5, None, "x"], "b": {"c": "\udfff"}}, []]
        files = [[], [{"pointer": "/a", "path": "/tmp/x.png", "mime": "image/png"}]]
        for pid in ids:
            for is_stream in (True, False):
                with self.subTest(pid=pid, is_stream=is_stream):
                    self.assertEqual(
                        encode_done(pid, is_stream),
                        encode({"v": 1, "type": "done", "id": pid, "is_stream": is_stream}))
            for value in values:
                with self.subTest(pid=pid, value=value):
                    for refs in files:
                        self.assertEqual(
                            encode_output(pid, 3, value, refs),
                            encode({"v": 1, "type": "output", "id": pid, "index": 3,
                                    "value": value, "files": refs}))
                    carried = encode_done(pid, False, (encode_value(value), value))
                    self.assertEqual(carried, encode(
                        {"v": 1, "type": "done", "id": pid, "is_stream": False,
                         "output": {"value": value, "files": []}}))
                    self.assertEqual(decode_from_worker(carried)["output"]["value"], value)
        with self.assertRaises(ValueError):
            encode_value(float("nan"))
        with self.assertRaises(ValueError):
            encode_output("p", 0, float("inf"), [])

    def test_encode_rejects_nan(self):
        with self.assertRaises(ValueError):
            encode({"v": 1, "type": "output", "value": float("nan")})

    def test_specific_rejections(self):
        bad = [
            '{"v":1,"type":"done","id":"x","is_stream":1}',
            '{"v":1,"type":"healthcheck_result","id":"h","status":"unhealthy"}',
            '{"v":1,"type":"metric","id":"x","name":"a","value":1,"mode":"incr"}',
            '{"v":1,"type":"hello","protocol":1,"python":"3","sdk":"0","pid":true}',
            '{"v":1,"type":"output","id":"x","index":0,"value":1,"files":[{"pointer":"a",'
            '"path":"/p","mime":null}]}',
            '{"type":"shutdown"}',
        ]
        for line in bad:
            with self.subTest(line=line):
                with self.assertRaises(ProtocolError):
                    decode_from_worker(line)
        with self.assertRaises(ProtocolError):
            decode_from_server('{"v":1,"type":"predict","id":"p","input":{},"context":{"a":1},'
                               '"output_dir":"/tmp"}')


if __name__ == "__main__":
    unittest.main()
