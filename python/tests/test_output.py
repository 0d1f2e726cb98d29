"""Output encoding: JSON values, nested files with RFC 6901 pointers, failures."""

import dataclasses
import datetime
import enum
import io
import os
import socket
import sys
import tempfile
import unittest

from cog import BaseModel, Path, Secret
from cog._output import OutputEncodingError, OutputFileError, encode_chunk, escape_pointer_token


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

    def touch(self, *parts):
        path = os.path.join(self.tmp.name, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(b"x")
        return os.path.realpath(path)

    def test_nested_files_get_pointers_and_absolute_paths(self):
        png, wav, txt = self.touch("rel", "a.png"), self.touch("x", "b.wav"), self.touch("c.txt")
        cwd = os.getcwd()
        os.chdir(self.tmp.name)
        self.addCleanup(os.chdir, cwd)
        out = Out(image=Path("rel/a.png"), extra={"a/b": [1, Path(wav)], "m~n": Path("c.txt")})
        value, files = encode_chunk(out, self.tmp.name)
        self.assertEqual(value["image"], png)
        self.assertEqual(files, [
            {"pointer": "/image", "path": png, "mime": "image/png"},
            {"pointer": "/extra/a~1b/1", "path": wav, "mime": files[1]["mime"]},
            {"pointer": "/extra/m~0n", "path": txt, "mime": "text/plain"},
        ])
        self.assertEqual(value["extra"]["a/b"][1], wav)

    def test_top_level_file_has_empty_pointer(self):
        path = self.touch("x.txt")
        value, files = encode_chunk(Path(path), self.tmp.name)
        self.assertEqual(value, path)
        self.assertEqual(files, [{"pointer": "", "path": path, "mime": "text/plain"}])

    def test_a_symlink_is_reported_resolved_with_the_type_of_its_name(self):
        target = self.touch("blobs", "sha256-0123")
        link = os.path.join(self.tmp.name, "out.png")
        os.symlink(target, link)
        value, files = encode_chunk({"image": Path(link)}, self.tmp.name)
        self.assertEqual(value, {"image": target})
        self.assertEqual(files, [{"pointer": "/image", "path": target, "mime": "image/png"}])

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

    def refused(self, path, pattern, pointer=""):
        value = {"nested": [Path(path)]} if pointer else Path(path)
        with self.assertRaises(OutputFileError) as caught:
            encode_chunk(value, self.tmp.name)
        message = str(caught.exception)
        self.assertIn(repr(path), message)
        self.assertRegex(message, pattern)
        if pointer:
            self.assertIn(repr(pointer), message)
        return message

    def test_a_directory_is_refused(self):
        self.refused(self.tmp.name, "it is a directory, not a regular file")

    def test_a_fifo_is_refused_without_being_opened(self):
        fifo = os.path.join(self.tmp.name, "out.fifo")
        os.mkfifo(fifo)  # opening it for reading would block: stat only
        self.refused(fifo, r"it is a FIFO \(named pipe\), not a regular file")

    def test_a_socket_is_refused(self):
        path = os.path.join(self.tmp.name, "out.sock")
        server = socket.socket(socket.AF_UNIX)
        self.addCleanup(server.close)
        server.bind(path)
        self.refused(path, "it is a socket, not a regular file", pointer="/nested/0")

    def test_a_missing_file_is_refused(self):
        self.refused(os.path.join(self.tmp.name, "missing.png"), "it does not exist")

    @unittest.skipUnless(sys.platform.startswith("linux"), "Linux /proc, /sys, /dev")
    def test_system_files_are_refused_even_through_a_symlink(self):
        self.refused("/dev/zero", "it is under /dev")
        self.refused("/dev/null", "it is under /dev")
        message = self.refused("/proc/self/environ", "it is under /proc")
        # resolved in this process: /proc/self is the worker, never the server
        self.assertIn("(resolves to '/proc/{}/environ')".format(os.getpid()), message)
        self.refused("/sys/kernel/mm", "it is under /sys")
        link = os.path.join(self.tmp.name, "innocent.png")
        os.symlink("/dev/zero", link)
        self.assertIn("(resolves to '/dev/zero')", self.refused(link, "it is under /dev",
                                                               pointer="/nested/0"))

    def test_a_symlink_out_of_its_directory_is_refused_but_one_within_is_read(self):
        secret = tempfile.NamedTemporaryFile(delete=False)
        secret.write(b"not yours")
        secret.close()
        self.addCleanup(os.unlink, secret.name)
        out = os.path.join(self.tmp.name, "out")
        os.mkdir(out)
        link = os.path.join(out, "image.png")
        os.symlink(secret.name, link)
        self.refused(link, "symbolic link to a file outside its own directory")
        real = os.path.join(out, "real.png")
        with open(real, "wb") as handle:
            handle.write(b"mine")
        inside = os.path.join(out, "alias.png")
        os.symlink(real, inside)
        _, files = encode_chunk(Path(inside), self.tmp.name)
        self.assertEqual(os.path.realpath(files[0]["path"]), os.path.realpath(real))

    def test_pointer_escaping(self):
        self.assertEqual(escape_pointer_token("a~/b"), "a~0~1b")


if __name__ == "__main__":
    unittest.main()
