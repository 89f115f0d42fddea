// Runs MicroPython code in MicroPython's 32-bit WebAssembly build (npm
// @micropython/micropython-webassembly-pyscript, pinned in package.json):
// 31-bit small ints and 4-byte words, as on a PyBoard.
//
//   node tests/wasm/run.mjs HEAPSIZE SCRIPT [ARG...] [--dir HOST:BOARD]...
//   node tests/wasm/run.mjs HEAPSIZE -c CODE [--dir HOST:BOARD]...
//
// Copies each host folder HOST into the interpreter's in-memory file system
// at BOARD (nothing on the host is visible to the code otherwise), sets
// sys.argv to [SCRIPT, ARG...] and runs SCRIPT. Exit status 1 when the
// script raises.
//
// This build collects garbage only when a call from JavaScript returns
// (ports/webassembly/main.c: gc_collect() inside a call only marks a
// collection as pending and the heap grows instead). A script that sets
// STEPS = n (run.mjs defines _STEPWISE first) has step(0) .. step(n - 1)
// called one by one, each a top-level call, with a collection in between.
import fs from "node:fs";
import path from "node:path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

function usage() {
    console.error("usage: node run.mjs HEAPSIZE SCRIPT [ARG...] [--dir HOST:BOARD]...");
    process.exit(2);
}

const argv = process.argv.slice(2);
const dirs = [];
const rest = [];
for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--dir") {
        const spec = argv[++i] || "";
        const k = spec.lastIndexOf(":");
        if (k <= 0) usage();
        dirs.push([spec.slice(0, k), spec.slice(k + 1)]);
    } else {
        rest.push(argv[i]);
    }
}
if (rest.length < 2) usage();
const heapsize = parseInt(rest[0], 10);
if (!(heapsize > 0)) usage();
const script = rest[1];
const args = rest.slice(2);

const mp = await loadMicroPython({
    heapsize,
    stdout: (line) => process.stdout.write(line + "\n"),
    stderr: (line) => process.stderr.write(line + "\n"),
});

function mkdirs(p) {
    let cur = "";
    for (const part of p.split("/").filter(Boolean)) {
        cur += "/" + part;
        try { mp.FS.mkdir(cur); } catch (e) { /* exists */ }
    }
}

function copyTree(host, board) {
    mkdirs(board);
    for (const ent of fs.readdirSync(host, { withFileTypes: true })) {
        const h = path.join(host, ent.name);
        const b = board + "/" + ent.name;
        if (ent.isDirectory()) {
            if (ent.name !== "__pycache__") copyTree(h, b);
        } else if (ent.isFile() && (ent.name.endsWith(".py") || ent.name.endsWith(".mpy"))) {
            mp.FS.writeFile(b, fs.readFileSync(h));
        }
    }
}

for (const [host, board] of dirs) copyTree(host, board);

let source;
if (script === "-c") {
    if (!args.length) usage();
    source = args.shift();
} else {
    source = fs.readFileSync(script, "utf8");
}
mp.globals.set("_run_argv", [script, ...args].join("\n"));
try {
    mp.runPython("import sys\nsys.argv[:] = _run_argv.split('\\n')\ndel _run_argv\n");
    mp.globals.set("_STEPWISE", true);
    mp.runPython(source);
    const steps = mp.globals.get("STEPS");
    if (typeof steps === "number") {
        for (let i = 0; i < steps; i++) mp.runPython("step(" + i + ")");
    }
} catch (e) {
    if (e.name !== "PythonError") throw e;
    process.stderr.write(e.message + "\n");
    process.exit(1);
}
