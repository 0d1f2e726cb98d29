// The one flag table: pflag's parsing rules, on/off flags in every form, the same
// `unknown flag` error (usage first, exit 1) on every command, and Cog-shaped help.

import { assert, assertEquals, assertMatch, assertThrows } from "../_assert.ts";
import { CliError } from "../../src/cli/_errors.ts";
import { type CommandSpec, FLAGS, parseFlags } from "../../src/cli/_flags.ts";
import { BUILD_COMMAND } from "../../src/cli/build.ts";
import { PREDICT_COMMAND } from "../../src/cli/predict.ts";
import { parseServeFlags, SERVE_COMMAND } from "../../src/cli/serve.ts";
import { TRAIN_COMMAND } from "../../src/cli/train.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const COMMANDS: [string, CommandSpec][] = [
  ["serve", SERVE_COMMAND],
  ["run", PREDICT_COMMAND],
  ["predict", PREDICT_COMMAND],
  ["train", TRAIN_COMMAND],
  ["build", BUILD_COMMAND],
];

Deno.test("every on/off flag of every command takes the bare form, =true and =false", () => {
  for (const [name, command] of COMMANDS) {
    for (const use of command.flags) {
      const flag = FLAGS[typeof use === "string" ? use : use.name];
      if (flag.kind !== "bool") continue;
      const where = `cog ${name} --${flag.name}`;
      assertEquals(parseFlags(command, [`--${flag.name}`]).bool(flag.name as never), true, where);
      assertEquals(parseFlags(command, [`--${flag.name}=true`]).bool(flag.name as never), true);
      assertEquals(parseFlags(command, [`--${flag.name}=false`]).bool(flag.name as never), false);
      assertEquals(parseFlags(command, []).bool(flag.name as never), undefined, "unset");
    }
  }
});

Deno.test("a bare --use-cog-base-image before another flag is on, not 'ambiguous' (serve, run, train, build)", () => {
  const serve = parseServeFlags(["--use-cog-base-image", "-p", "9000"]);
  assert(serve !== "help");
  assertEquals([serve.useCogBaseImage, serve.port], [true, 9000]);
  const off = parseServeFlags(["--use-cog-base-image=false", "--no-docker"]);
  assert(off !== "help");
  assertEquals([off.useCogBaseImage, off.noDocker], [false, true]);
  for (const command of [PREDICT_COMMAND, TRAIN_COMMAND, BUILD_COMMAND]) {
    const parsed = parseFlags(command, ["--use-cog-base-image", "-f", "other.yaml"]);
    assertEquals([parsed.bool("use-cog-base-image"), parsed.string("file")], [true, "other.yaml"]);
  }
});

Deno.test("values follow pflag: --name value, --name=value, -nvalue, -n=value, values starting with -", () => {
  const parsed = parseFlags(PREDICT_COMMAND, [
    "-i",
    "a=1",
    "--input=b=2",
    "-ic=3",
    "-i=d=4",
    "-o",
    "-weird-name",
    "--",
    "--not-a-flag",
  ]);
  assertEquals(parsed.strings("input"), ["a=1", "b=2", "c=3", "d=4"]);
  assertEquals(parsed.string("output"), "-weird-name");
  assertEquals(parsed.positionals, ["--not-a-flag"]);
  assertEquals(parseFlags(PREDICT_COMMAND, ["-i", "x=1", "my-image", "--no-docker"]).positionals, [
    "my-image",
  ]);
});

Deno.test("--await-explicit-shutdown also takes a following true/false word (the in-image command's form)", () => {
  for (
    const [args, on] of [[["--await-explicit-shutdown", "true"], true], [[
      "--await-explicit-shutdown",
      "false",
    ], false], [["--await-explicit-shutdown"], true]] as const
  ) {
    const flags = parseServeFlags([...args, "--no-docker"]);
    assert(flags !== "help");
    assertEquals(flags.awaitExplicitShutdown, on, args.join(" "));
  }
});

Deno.test("flag errors carry the command's usage and Cog's wording", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /: unknown flag: --bogus$/],
    [["-z"], /: unknown shorthand flag: 'z' in -z$/],
    [["--file"], /: flag needs an argument: --file$/],
    [["-f"], /: flag needs an argument: 'f' in -f$/],
    [
      ["--no-docker=maybe"],
      /: invalid argument "maybe" for "--no-docker" flag: must be true or false$/,
    ],
    [["a", "b"], /: accepts at most 1 arg\(s\), received 2$/],
  ];
  for (const [args, message] of cases) {
    assertThrows(() => parseFlags(PREDICT_COMMAND, args), message);
    try {
      parseFlags(PREDICT_COMMAND, args);
    } catch (error) {
      assert(error instanceof CliError);
      assertEquals(error.exitCode, 1);
      assertMatch(error.usage ?? "", /^Usage:\n {2}cog run \[image\] \[flags\]\n/);
    }
  }
});

Deno.test("help has Usage, Examples and Flags sections with aligned, sorted flags; hidden flags stay out", () => {
  for (const [, command] of COMMANDS) {
    const r = parseFlags(command, ["--help"]);
    assertEquals(r.bool("help"), true);
  }
  const help = new TextDecoder().decode(
    new Deno.Command(Deno.execPath(), { args: ["run", "-A", MAIN, "build", "--help"] })
      .outputSync().stdout,
  );
  assertMatch(help, /\nUsage:\n {2}cog build \[flags\]\n\nExamples:\n {2}# /);
  assertMatch(
    help,
    /\nFlags:\n {2}-f, --file string {2,}The name of the config file\. \(default "cog\.yaml"\)\n/,
  );
  assertMatch(help, /\n {2}-h, --help {2,}help for build\n/);
  assert(!help.includes("skip-schema-validation"), "hidden flag shown");
  const names = [...help.matchAll(/^ {2}(?:-\w, | {4})--([\w-]+)/gm)].map((m) => m[1]);
  assertEquals(names, [...names].sort());
  const columns = new Set(
    help.split("Flags:\n")[1].split("\n").filter((l) => l.trim()).map((l) =>
      /^ {2}(?:-\w, | {4})--[\w-]+(?: \w+)? +/.exec(l)?.[0].length
    ),
  );
  assertEquals(columns.size, 1, "descriptions start in one column");
});

Deno.test("every command prints its usage then `unknown flag: --bogus` and exits 1", async () => {
  for (const [name] of COMMANDS) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, name, "--bogus"],
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1, `cog ${name}: ${stderr}`);
    assertEquals(new TextDecoder().decode(out.stdout), "");
    const lines = stderr.trimEnd().split("\n");
    assertEquals(lines.at(-1), "unknown flag: --bogus", `cog ${name}`);
    const usage = lines.indexOf("Usage:");
    assert(usage >= 0 && usage < lines.length - 1, `cog ${name}: no usage before the error`);
    assertMatch(lines[usage + 1], new RegExp(`^ {2}cog (${name}|run) `));
  }
});
