import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import {
  createDockerClient,
  DockerError,
  type ExecResult,
  type Spawn,
} from "../../src/docker/mod.ts";

/** A fake process seam: answers each `docker` call from a table and records the calls. */
function fakeSpawn(
  answers: (args: readonly string[]) => Partial<ExecResult> | "missing",
): { spawn: Spawn; calls: string[][] } {
  const calls: string[][] = [];
  const spawn: Spawn = (_command, args) => {
    calls.push([...args]);
    const a = answers(args);
    if (a === "missing") throw new Deno.errors.NotFound("docker");
    const result: ExecResult = { code: 0, stdout: "", stderrTail: "", ...a };
    return { pid: 1, status: Promise.resolve(result), stop: () => Promise.resolve(result) };
  };
  return { spawn, calls };
}

Deno.test("buildx is used when `docker buildx version` succeeds", async () => {
  const { spawn } = fakeSpawn(() => ({ code: 0, stdout: "github.com/docker/buildx v0.17.1" }));
  assertEquals(await createDockerClient({ spawn }).detectBuilder(), { kind: "buildx" });
});

Deno.test("without buildx a pre-23 client falls back to its built-in BuildKit with a one-line notice", async () => {
  const { spawn } = fakeSpawn((args) =>
    args[0] === "buildx"
      ? { code: 1, stderrTail: "docker: 'buildx' is not a docker command." }
      : { stdout: "20.10.24+dfsg1\n" }
  );
  const builder = await createDockerClient({ spawn }).detectBuilder();
  assertEquals(builder.kind, "buildkit");
  assert(builder.notice && !builder.notice.includes("\n"));
});

Deno.test("without buildx a modern client falls back to the classic builder, never to an unknown flag", async () => {
  const { spawn } = fakeSpawn((args) =>
    args[0] === "buildx" ? { code: 1 } : { stdout: "28.2.2\n" }
  );
  const builder = await createDockerClient({ spawn }).detectBuilder();
  assertEquals(builder.kind, "classic");
  assert(builder.notice?.includes("docker buildx is not installed"));
});

Deno.test("a missing docker binary is one clear DockerError", async () => {
  const { spawn } = fakeSpawn(() => "missing");
  await rejects(() => createDockerClient({ spawn }).ensureDaemon(), (err: unknown) => {
    assert(err instanceof DockerError);
    assert(err.message.startsWith("docker was not found on PATH."));
    return true;
  });
});

Deno.test("a daemon that does not answer is one clear DockerError with the exit code and stderr tail", async () => {
  const stderr =
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n";
  const { spawn } = fakeSpawn(() => ({ code: 1, stderrTail: stderr }));
  await rejects(() => createDockerClient({ spawn }).ensureDaemon(), (err: unknown) => {
    assert(err instanceof DockerError);
    assertEquals(err.exitCode, 1);
    assertEquals(err.stderrTail, stderr);
    assert(err.message.startsWith("cannot reach the Docker daemon (Cannot connect"));
    return true;
  });
});

Deno.test("a failed build is a DockerError naming the exit code and the last error line", async () => {
  const { spawn, calls } = fakeSpawn(() => ({
    code: 1,
    stderrTail: "step 3\nE: Unable to locate package nope\n",
  }));
  await rejects(
    () =>
      createDockerClient({ spawn }).build({ args: ["build", "x"], env: { DOCKER_BUILDKIT: "0" } }),
    /^DockerError: docker build failed \(exit code 1\): E: Unable to locate package nope$/,
  );
  assertEquals(calls, [["build", "x"]]);
});

Deno.test("containers are found by exact name", async () => {
  const { spawn, calls } = fakeSpawn(() => ({ stdout: "abc123\n" }));
  assert(await createDockerClient({ spawn }).containerExists("cog-serve-x-1"));
  assertEquals(calls, [["ps", "-a", "-q", "--filter", "name=^/cog-serve-x-1$"]]);
});
