import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  buildArgs,
  gpusFor,
  parseGpus,
  progressMode,
  publishSpec,
  runArgs,
  serveCommand,
} from "../../src/docker/mod.ts";

const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });

Deno.test("docker run publishes host:port to 5000, mounts the project at /src and names the container", () => {
  assertEquals(
    runArgs({
      image: "cog-hello",
      name: "cog-serve-hello-1",
      port: 8393,
      host: "127.0.0.1",
      projectDir: "/p/hello",
      env: ["A=1"],
      command: serveCommand(),
    }),
    [
      "run",
      "--rm",
      "--init",
      "--name",
      "cog-serve-hello-1",
      "--shm-size",
      "6g",
      "-p",
      "127.0.0.1:8393:5000",
      "-v",
      "/p/hello:/src",
      "-w",
      "/src",
      "-e",
      "LOG_FORMAT=console",
      "-e",
      "A=1",
      "cog-hello",
      "cog",
      "serve",
      "--no-docker",
      "--host",
      "0.0.0.0",
      "-p",
      "5000",
      "--await-explicit-shutdown",
      "true",
    ],
  );
});

Deno.test("docker run adds --gpus and the host gateway when --upload-url is given", () => {
  const args = runArgs({
    image: "i",
    name: "n",
    port: 9000,
    host: "0.0.0.0",
    projectDir: "/p",
    gpus: '"device=0,1"',
    addHostGateway: true,
    command: serveCommand("http://host.docker.internal:8000/upload/"),
  });
  assertEquals(args.slice(7, 11), ["--gpus", '"device=0,1"', "-p", "0.0.0.0:9000:5000"]);
  assertEquals(args.slice(args.indexOf("--add-host"), args.indexOf("--add-host") + 2), [
    "--add-host",
    "host.docker.internal:host-gateway",
  ]);
  assertEquals(args.slice(-2), ["--upload-url", "http://host.docker.internal:8000/upload/"]);
});

Deno.test("IPv6 hosts are bracketed in the publish spec", () => {
  assertEquals(publishSpec("::1", 8393), "[::1]:8393:5000");
});

Deno.test("buildx builds for linux/amd64 with the cog_build named context, inline cache and --load", () => {
  assertEquals(
    buildArgs({
      builder: "buildx",
      dockerfile: "/p/.cog/build/Dockerfile",
      tag: "cog-p",
      context: "/p",
      namedContexts: { cog_build: "/p/.cog/build" },
      progress: "plain",
      labels: { "run.cog.version": "0.1.0" },
      secrets: ["id=pip,src=/p/pip.conf"],
      noCache: true,
    }),
    {
      args: [
        "buildx",
        "build",
        "--platform",
        "linux/amd64",
        "--file",
        "/p/.cog/build/Dockerfile",
        "--tag",
        "cog-p",
        "--build-context",
        "cog_build=/p/.cog/build",
        "--progress",
        "plain",
        "--cache-to",
        "type=inline",
        "--load",
        "--no-cache",
        "--secret",
        "id=pip,src=/p/pip.conf",
        "--label",
        "run.cog.version=0.1.0",
        "/p",
      ],
      env: {},
    },
  );
});

Deno.test("without buildx, an old client's built-in BuildKit is used through DOCKER_BUILDKIT=1", () => {
  assertEquals(
    buildArgs({
      builder: "buildkit",
      dockerfile: "/s/Dockerfile",
      tag: "t",
      context: "/s",
      progress: "tty",
    }),
    {
      args: ["build", "--file", "/s/Dockerfile", "--tag", "t", "--progress", "tty", "/s"],
      env: { DOCKER_BUILDKIT: "1" },
    },
  );
});

Deno.test("the classic builder gets no --progress flag, and quiet becomes --quiet", () => {
  assertEquals(
    buildArgs({
      builder: "classic",
      dockerfile: "/s/Dockerfile",
      tag: "t",
      context: "/s",
      progress: "plain",
    }),
    {
      args: ["build", "--file", "/s/Dockerfile", "--tag", "t", "/s"],
      env: { DOCKER_BUILDKIT: "0" },
    },
  );
  assertEquals(
    buildArgs({
      builder: "classic",
      dockerfile: "/s/Dockerfile",
      tag: "t",
      context: "/s",
      progress: "quiet",
    }).args,
    ["build", "--file", "/s/Dockerfile", "--tag", "t", "--quiet", "/s"],
  );
});

Deno.test("named contexts and secrets are refused without the builders that support them", () => {
  throws(
    () =>
      buildArgs({
        builder: "buildkit",
        dockerfile: "d",
        tag: "t",
        context: "c",
        namedContexts: { a: "b" },
      }),
    /named build contexts need docker buildx/,
  );
  throws(
    () =>
      buildArgs({ builder: "classic", dockerfile: "d", tag: "t", context: "c", secrets: ["id=a"] }),
    /--secret needs BuildKit/,
  );
});

Deno.test("the progress mode comes from the flag, then BUILDKIT_PROGRESS, then TERM=dumb, then auto", () => {
  assertEquals(progressMode("tty", env({ BUILDKIT_PROGRESS: "plain" })), "tty");
  assertEquals(progressMode(undefined, env({ BUILDKIT_PROGRESS: "quiet" })), "quiet");
  assertEquals(progressMode(undefined, env({ TERM: "dumb" })), "plain");
  assertEquals(progressMode(undefined, env({})), "auto");
});

Deno.test("--gpus accepts docker syntax and refuses anything else", () => {
  assertEquals(parseGpus("all"), "all");
  assertEquals(parseGpus("2"), "2");
  assertEquals(parseGpus('"device=0,1"'), '"device=0,1"');
  assertEquals(parseGpus("device=0"), "device=0");
  assertEquals(parseGpus(""), undefined);
  throws(() => parseGpus("lots"), /invalid GPU specification: "lots"/);
});

Deno.test("build.gpu: true implies --gpus all unless --gpus is given, even empty", () => {
  assertEquals(gpusFor(undefined, true), { gpus: "all", auto: true });
  assertEquals(gpusFor("", true), { gpus: undefined, auto: false });
  assertEquals(gpusFor("1", false), { gpus: "1", auto: false });
  assertEquals(gpusFor(undefined, false), { auto: false });
});
