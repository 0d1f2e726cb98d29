// End to end on a real Docker engine, for what Cog users hit beyond `cog serve`:
// `cog train` (from the project and on a built image), cog.yaml `environment:` and -e
// reaching the server inside the container (and its banner staying hidden), and
// `cog build` refusing an invalid predictor without leaving a tagged image, whether the
// host or only the built image can load the predictor.
//
// Needs a reachable Docker engine; the base image is made offline by
// scripts/e2e_base_image.sh (debootstrapped Debian with python3, tagged python:3.11-slim).
// Skips with a printed reason when no engine is reachable, unless COG_E2E_REQUIRE_DOCKER=1
// (CI), where that is a failure.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { DOCKER, dockerSkipReason, ensureBaseImage, run } from "./_docker.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(REPO, "main.ts");
const DEPRECATION =
  `Command "train" is deprecated, the train command will be removed in a future version of Cog`;

const created: string[] = [];
const images: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of created) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone
    }
  }
  for (const image of images) {
    new Deno.Command(DOCKER, { args: ["image", "rm", "-f", image], stdout: "null", stderr: "null" })
      .outputSync();
  }
});

function cog(cwd: string, ...args: string[]) {
  return run(Deno.execPath(), ["run", "-A", MAIN, ...args], { cwd });
}

const reason = await dockerSkipReason("tests/e2e/docker_cli_test.ts");

/** A project directory (removed when the test process ends) with these files. */
async function project(name: string, files: Record<string, string>): Promise<string> {
  const parent = await Deno.makeTempDir({ prefix: "cog-e2e-" });
  created.push(parent);
  const dir = join(parent, name);
  await Deno.mkdir(dir);
  for (const [file, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, file), text);
  return dir;
}

async function imageExists(image: string): Promise<boolean> {
  return (await run(DOCKER, ["image", "inspect", image])).code === 0;
}

async function tmpImages(): Promise<string> {
  return (await run(DOCKER, ["images", "-q", "cog-tmp"])).stdout.trim();
}

const TRAIN_PY = [
  "from cog import BaseModel, Input",
  "class Out(BaseModel):",
  "    weights: str",
  "    steps: int",
  "def train(steps: int = Input(default=1, ge=1, le=100)) -> Out:",
  "    return Out(weights='w-{}'.format(steps), steps=steps)",
].join("\n");

Deno.test({
  name:
    "cog train with Docker runs train() from the project and on a built image, validating inputs first",
  ignore: reason !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureBaseImage();
    const dir = await project("e2e-train", {
      "cog.yaml": 'build:\n  python_version: "3.11"\ntrain: "train.py:train"\n',
      "train.py": TRAIN_PY,
    });
    const bad = await cog(dir, "train", "-i", "steps=500");
    assertEquals(bad.code, 1);
    assertEquals(bad.stderr.split("\n")[0], DEPRECATION);
    assert(bad.stderr.includes('invalid input "steps": number must be at most 100'), bad.stderr);
    assert(!bad.stderr.includes("Building Docker image"), "validated before the build");

    const trained = await cog(dir, "train", "-i", "steps=3");
    assertEquals(trained.code, 0, trained.stderr);
    assertEquals(trained.stderr.split("\n")[0], DEPRECATION);
    assert(trained.stderr.includes("Running training..."), trained.stderr);
    assert(!trained.stderr.includes("Serving at"), "the container's banner is not shown");
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "weights"))), {
      steps: 3,
      weights: "w-3",
    });

    const tag = "cog-e2e-train-test";
    images.push(tag);
    const built = await cog(dir, "build", "-t", tag);
    assertEquals(built.code, 0, built.stderr);
    const elsewhere = await project("elsewhere", {});
    const onImage = await cog(elsewhere, "train", tag, "-i", "steps=7", "-o", "");
    assertEquals(onImage.code, 0, onImage.stderr);
    assertEquals(JSON.parse(onImage.stdout), { steps: 7, weights: "w-7" });
    const left = await run(DOCKER, ["ps", "-a", "-q", "--filter", "name=cog-predict-"]);
    assertEquals(left.stdout.trim(), "", "a container was left behind");
  },
});

Deno.test({
  name:
    "cog.yaml environment: and -e reach the server's own settings in the container (shell < cog.yaml < -e), with one warning and no container banner",
  ignore: reason !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureBaseImage();
    const dir = await project("e2e-env", {
      "cog.yaml": 'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n' +
        "environment:\n  - COG_MAX_BODY_BYTES=2000\n  - GREETING=yaml\n",
      "predict.py": [
        "import os",
        "from cog import BasePredictor",
        "class Predictor(BasePredictor):",
        "    def predict(self, text: str = '') -> str:",
        "        return os.environ.get('GREETING', '-') + ' ' + str(len(text))",
      ].join("\n"),
    });
    // cog run: the model sees -e over cog.yaml; the warning shows once; no container banner.
    const ran = await cog(dir, "run", "-e", "GREETING=flag", "-i", "text=abc");
    assertEquals(ran.code, 0, ran.stderr);
    assertEquals(ran.stdout, "flag 3\n");
    assertEquals(ran.stderr.split('deprecated field "predict"').length - 1, 1, ran.stderr);
    assert(!ran.stderr.includes("0.0.0.0:5000"), ran.stderr);

    // cog serve: the server's body limit comes from cog.yaml, then from -e.
    for (const [flags, limit] of [[[], 2000], [["-e", "COG_MAX_BODY_BYTES=6000"], 6000]] as const) {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (l.addr as Deno.NetAddr).port;
      l.close();
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "serve", "-p", String(port), ...flags],
        cwd: dir,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1", COG_MAX_BODY_BYTES: "100" },
      }).spawn();
      let log = "";
      const dec = new TextDecoder();
      const done = Promise.all([child.stdout, child.stderr].map(async (s) => {
        for await (const c of s) log += dec.decode(c);
      }));
      try {
        const deadline = Date.now() + 600_000;
        while (!log.includes(`Serving at http://127.0.0.1:${port}`)) {
          if (Date.now() > deadline) throw new Error(`cog serve did not become ready:\n${log}`);
          await new Promise((r) => setTimeout(r, 250));
        }
        const post = (size: number) =>
          fetch(`http://127.0.0.1:${port}/predictions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ input: { text: "x".repeat(size) } }),
          }).then(async (r) => ({ status: r.status, body: await r.text() }));
        const under = await post(limit - 200);
        assertEquals(under.status, 200, under.body);
        assertEquals((await post(limit + 200)).status, 413);
      } finally {
        child.kill("SIGINT");
        await child.status;
        await done;
      }
      assert(!log.includes("Serving at http://0.0.0.0:5000"), log);
      assertEquals(log.split('deprecated field "predict"').length - 1, 1, log);
    }
  },
});

Deno.test({
  name:
    "cog build refuses an invalid predictor without leaving a tagged image, on the host or in the built image",
  ignore: reason !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureBaseImage();
    const predictor = (signature: string) =>
      [
        "import only_in_the_image  # installed by build.run; not on the host",
        "from cog import BasePredictor, Input",
        "class Predictor(BasePredictor):",
        `    def predict(self, ${signature}) -> str:`,
        "        return str(count)",
      ].join("\n");
    const imageOnly = 'build:\n  python_version: "3.11"\n  run:\n' +
      `    - "python3 -c \\"import os, sysconfig; p = sysconfig.get_paths()['purelib']; ` +
      `os.makedirs(p, exist_ok=True); open(os.path.join(p, 'only_in_the_image.py'), 'w')` +
      `.write('VALUE = 1')\\""\n` +
      'run: "predict.py:Predictor"\n';
    const tag = "cog-e2e-build-check-test";
    images.push(tag);
    await run(DOCKER, ["image", "rm", "-f", tag]);
    const tmpBefore = await tmpImages();

    // The host can load it: refused before anything is built.
    const onHost = await project("e2e-check-host", {
      "cog.yaml": 'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n',
      "predict.py": predictor("count: int = Input(default=1, ge=2)").replace(/^import .*\n/, ""),
    });
    const hostRefused = await cog(onHost, "build", "-t", tag);
    assertEquals(hostRefused.code, 1);
    assert(
      hostRefused.stderr.includes(
        "Model schema is invalid: invalid default for count: int: must be at minimum 2",
      ),
      hostRefused.stderr,
    );
    assert(!hostRefused.stderr.includes("Building Docker image"), hostRefused.stderr);
    assert(!(await imageExists(tag)));

    // Only the image can load it: built, checked in the image, refused, nothing tagged.
    const inImage = await project("e2e-check-image", {
      "cog.yaml": imageOnly,
      "predict.py": predictor("count: int = Input(default=1, ge=2)"),
    });
    const imageRefused = await cog(inImage, "build", "-t", tag, "--progress", "plain");
    assertEquals(imageRefused.code, 1, imageRefused.stderr);
    assert(
      imageRefused.stderr.includes(
        "Model schema is invalid: invalid default for count: int: must be at minimum 2",
      ),
      imageRefused.stderr,
    );
    assert(!(await imageExists(tag)), "the refused image was tagged");
    assertEquals(await tmpImages(), tmpBefore, "a cog-tmp image was left behind");

    // Fixed: the same image-only predictor builds and is tagged, with Cog's labels.
    await Deno.writeTextFile(
      join(inImage, "predict.py"),
      predictor("count: int = Input(default=3, ge=2)"),
    );
    const ok = await cog(inImage, "build", "-t", tag);
    assertEquals(ok.code, 0, ok.stderr);
    const labels = JSON.parse(
      (await run(DOCKER, ["image", "inspect", "--format", "{{json .Config.Labels}}", tag])).stdout,
    );
    assert(labels["run.cog.version"] && labels["run.cog.config"], JSON.stringify(labels));
    assertEquals(await tmpImages(), tmpBefore, "a cog-tmp image was left behind");
  },
});
