"""Output encoding: JSON values, nested files with RFC 6901 pointers, failures."""

import dataclasses
import datetime
import enum
import io
import os
import tempfile
import unittest

from cog import BaseModel, Path, Secret
from cog._output import OutputEncodingError, encode_chunk, escape_pointer_token


class Color(enum.Enum):
    RED = "red"


class Out(BaseModel):
    image: Path
    extra: dict


class OutputTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_plain_values(self):
        @dataclasses.dataclass
        class D:
            a: int

        value, files = encode_chunk({"n": 1, "f": 1.5, "t": (1, 2), "c": Color.RED, "d": D(2),
                                     "when": datetime.datetime(2020, 1, 2, 3, 4, 5), 3: "x"},
                                    self.tmp.name)
        self.assertEqual(value, {"n": 1, "f": 1.5, "t": [1, 2], "c": "red", "d": {"a": 2},
                                 "when": "2020-01-02T03:04:05", "3": "x"})
        self.assertEqual(files, [])
        self.assertEqual(encode_chunk(Secret("s"), self.tmp.name)[0], "**********")

    def test_nested_files_get_pointers_and_absolute_paths(self):
        out = Out(image=Path("rel/a.png"), extra={"a/b": [1, Path("/x/b.wav")], "m~n": Path("c.txt")})
        value, files = encode_chunk(out, self.tmp.name)
        abs_png = os.path.join(os.getcwd(), "rel/a.png")
        self.assertEqual(value["image"], abs_png)
        self.assertEqual(files, [
            {"pointer": "/image", "path": abs_png, "mime": "image/png"},
            {"pointer": "/extra/a~1b/1", "path": "/x/b.wav", "mime": files[1]["mime"]},
            {"pointer": "/extra/m~0n", "path": os.path.join(os.getcwd(), "c.txt"),
             "mime": "text/plain"},
        ])
        self.assertEqual(value["extra"]["a/b"][1], "/x/b.wav")

    def test_top_level_file_has_empty_pointer(self):
        value, files = encode_chunk(Path("/tmp/x.txt"), self.tmp.name)
        self.assertEqual(value, "/tmp/x.txt")
        self.assertEqual(files, [{"pointer": "", "path": "/tmp/x.txt", "mime": "text/plain"}])

    def test_iobase_is_written_to_output_dir(self):
        value, files = encode_chunk([io.BytesIO(b"abc"), io.StringIO("héllo")], self.tmp.name)
        self.assertEqual(len(files), 2)
        with open(value[0], "rb") as handle:
            self.assertEqual(handle.read(), b"abc")
        with open(value[1], "rb") as handle:
            self.assertEqual(handle.read(), "héllo".encode("utf-8"))
        self.assertTrue(value[0].startswith(self.tmp.name))
        self.assertEqual(files[1]["pointer"], "/1")

    def test_nan_and_bytes_fail_clearly(self):
        for bad in (float("nan"), [float("inf")], {"a": b"x"}, object()):
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(OutputEncodingError, "Failed to serialize output"):
                    encode_chunk(bad, self.tmp.name)

    def test_pointer_escaping(self):
        self.assertEqual(escape_pointer_token("a~/b"), "a~0~1b")


if __name__ == "__main__":
    unittest.main()
