// A warm tsc for Hangar's SDK generator (sdk_gen/compilers.py): one Node process compiles many SDKs
// through the TypeScript API, keeping the parsed and bound standard library (lib.es2022, lib.dom: ~50,000
// lines) between compilations and the compiler's code JIT-compiled, where each `tsc` run starts cold.
//
// Protocol, one JSON request per line on stdin: {"project": dir, "rootNames": [...], "options": {...}}
// (tsconfig's compilerOptions). The outputs are written under the project as tsc would. One JSON answer
// per line on stdout: {"ok": bool, "diagnostics": text}. The process ends when stdin closes or after
// the idle time (seconds, argv[3]) without a request.
"use strict";
const path = require("path");
const readline = require("readline");
const ts = require(process.argv[2]);
const idleMillis = Number(process.argv[3] || 600) * 1000;

// Files outside the project (the standard library's .d.ts) never change while the process lives.
const shared = new Map();

function compile(request) {
  const project = path.resolve(request.project);
  const converted = ts.convertCompilerOptionsFromJson(request.options, project);
  if (converted.errors.length) return { ok: false, diagnostics: format(converted.errors, project) };
  const options = converted.options;
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, create) => {
    if (fileName.startsWith(project + path.sep)) return read(fileName, languageVersion, onError, create);
    const key = fileName + "\0" + JSON.stringify(languageVersion);
    let file = shared.get(key);
    if (file === undefined) {
      file = read(fileName, languageVersion, onError, create);
      if (file !== undefined) shared.set(key, file);
    }
    return file;
  };
  const program = ts.createProgram(request.rootNames.map((name) => path.resolve(project, name)), options, host);
  const diagnostics = [...ts.getPreEmitDiagnostics(program)];
  if (diagnostics.length === 0) diagnostics.push(...program.emit().diagnostics);
  return { ok: diagnostics.length === 0, diagnostics: format(diagnostics, project) };
}

function format(diagnostics, project) {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name, getCurrentDirectory: () => project, getNewLine: () => "\n",
  });
}

let idle = setTimeout(() => process.exit(0), idleMillis);
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  clearTimeout(idle);
  let answer;
  try {
    answer = compile(JSON.parse(line));
  } catch (error) {
    answer = { ok: false, diagnostics: String((error && error.stack) || error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
  idle = setTimeout(() => process.exit(0), idleMillis);
});
lines.on("close", () => process.exit(0));
