// Names of downloaded input files (filenameForUrl): Cog's rules for URLs, and
// for data URLs `file` + the MIME type's extension, or the `name=` parameter
// that `cog run -i f=@file` sends, reduced to one harmless path segment.

import { assertEquals } from "../_assert.ts";
import { dataUrlNameParam, filenameForUrl } from "../../src/server/files.ts";
import { extensionForMime, mimeForName } from "../../src/server/_mime.ts";

Deno.test("a data URL's name= parameter names the file; without it, file + the type's extension", () => {
  const named = (name: string, type = "application/octet-stream") =>
    filenameForUrl(`data:${type};${dataUrlNameParam(name)};base64,AA==`);
  assertEquals(named("clip.avif"), "clip.avif");
  assertEquals(named("we;ird, na%20me.txt"), "we;ird, na%20me.txt");
  assertEquals(named("写真.jpg", "image/jpeg"), "写真.jpg");
  // a name cannot pick a directory, nor be a dot segment or hold control characters
  assertEquals(named("../../etc/passwd"), "passwd");
  assertEquals(named("..\\..\\x.bin"), "x.bin");
  assertEquals(named(".."), "_");
  assertEquals(named("a\u0000b\nc.txt"), "a_b_c.txt");
  assertEquals(named("x".repeat(300) + ".png").length, 200);
  assertEquals(named("x".repeat(300) + ".png").endsWith("~.png"), true);
  // unusable names fall back to Cog's rule
  assertEquals(filenameForUrl("data:image/png;name=;base64,AA=="), "file.png");
  assertEquals(filenameForUrl("data:image/png;name=%E0%A4%A;base64,AA=="), "file.png");
  assertEquals(filenameForUrl("data:image/png;name=a%2F;base64,AA=="), "file.png");
  assertEquals(filenameForUrl("data:video/x-matroska;base64,AA=="), "file.mkv");
  assertEquals(filenameForUrl("data:image/avif;base64,AA=="), "file.avif");
  assertEquals(filenameForUrl("data:application/x-unknown-thing;base64,AA=="), "file");
  assertEquals(filenameForUrl("data:,hello"), "file");
});

Deno.test("MIME types come from npm mime, with Cog's extension where it differs", () => {
  assertEquals(mimeForName("/a/clip.AVIF"), "image/avif");
  assertEquals(mimeForName("movie.mkv"), "video/x-matroska");
  assertEquals(mimeForName("photo.heic"), "image/heic");
  assertEquals(mimeForName("weights.npy"), "application/octet-stream");
  assertEquals(mimeForName("dir.d/README"), "application/octet-stream");
  assertEquals(mimeForName("rows.jsonl"), "application/jsonl");
  assertEquals(extensionForMime("image/jpeg"), ".jpg");
  assertEquals(extensionForMime("audio/mpeg"), ".mp3");
  assertEquals(extensionForMime("image/tiff"), ".tiff");
  assertEquals(extensionForMime("application/octet-stream"), ".bin");
  assertEquals(extensionForMime("audio/x-wav"), ".wav");
  assertEquals(extensionForMime("video/quicktime"), ".mov");
  assertEquals(extensionForMime("text/plain; charset=utf-8"), ".txt");
  assertEquals(extensionForMime("application/x-nope"), null);
  assertEquals(extensionForMime(""), null);
});
