// `cog run -i f=@file` sends the file as a data URL carrying its own name
// (`;name=<percent-encoded>`), so the model sees `clip.avif`, `movie.mkv`,
// `photo.heic` with their extensions (not `file.npy` from a MIME table), in a
// real CLI process with a real worker. The name cannot pick a directory.

import { assertEquals } from "../_assert.ts";
import { writeProject } from "../_helpers.ts";
import { cog } from "./_cog.ts";

const NAMES = [
  "clip.avif",
  "movie.mkv",
  "photo.heic",
  "weights.npy",
  "model.safetensors",
  "UPPER.PNG",
  "README",
  "we;ird, na%20me#1.txt",
  "ünïcødé 写真.jpg",
];

Deno.test("cog run -i f=@file: the model gets the file under its own name and extension", async () => {
  const files: Record<string, string> = {
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": [
      "import json, os",
      "from typing import List, Optional",
      "from cog import BasePredictor, Path",
      "class Predictor(BasePredictor):",
      "    def predict(self, doc: Path, docs: Optional[List[Path]] = None) -> str:",
      "        paths = [doc] + (docs or [])",
      "        return json.dumps([[os.path.basename(str(p)), p.read_text()] for p in paths])",
    ].join("\n"),
  };
  for (const name of NAMES) files[`in/${name}`] = `content of ${name}`;
  const project = await writeProject(files);
  try {
    const args = ["run", "--no-docker", "-i", `doc=@in/${NAMES[0]}`];
    for (const name of NAMES) args.push("-i", `docs=@in/${name}`);
    const r = await cog(project, ...args);
    assertEquals(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as [string, string][];
    assertEquals(
      got,
      [NAMES[0], ...NAMES].map((name) => [name, `content of ${name}`]),
    );
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});
