// Runs the real CLI (`deno run -A main.ts ...`) in a directory and collects what it printed.

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** How a `cog` command ended and what it printed. */
export interface CogResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `cog <args>` in `cwd`, no stdin, colours off. */
export async function cog(cwd: string, ...args: string[]): Promise<CogResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}
