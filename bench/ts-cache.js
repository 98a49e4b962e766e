'use strict';
/**
 * Loads the TypeScript sources of the processes a benchmark case starts (its sandboxes, its
 * set-up) as ts-node's transpile-only mode does, from a cache of their JavaScript: every case
 * starts them afresh, and transpiling the same files again took about 2.5 s of CPU in each
 * sandbox process and 4 s in each set-up process. The case's own process stays on ts-node (see
 * bench/run.ts). The cache (node_modules/.cache/bench-ts) is keyed by the file's path, its source
 * and the TypeScript version, so an edited file is transpiled again.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, 'node_modules/.cache/bench-ts');
const TS_VERSION = require('typescript/package.json').version;

let compile;

function transpiler() {
	const ts = require('typescript');
	const { compilerOptions } = ts.readConfigFile(
		path.join(ROOT, 'tsconfig.json'),
		ts.sys.readFile,
	).config;
	const { options } = ts.convertCompilerOptionsFromJson(compilerOptions, ROOT);
	const settings = { ...options, sourceMap: false, inlineSourceMap: false, declaration: false };
	return (source, fileName) =>
		ts.transpileModule(source, { compilerOptions: settings, fileName }).outputText;
}

function loadTypeScript(module, fileName) {
	const source = fs.readFileSync(fileName, 'utf8');
	const key = crypto
		.createHash('sha1')
		.update(`${TS_VERSION}\0${fileName}\0${source}`)
		.digest('hex');
	const cached = path.join(CACHE, `${key}.js`);
	let code;
	try {
		code = fs.readFileSync(cached, 'utf8');
	} catch {
		compile ??= transpiler();
		code = compile(source, fileName);
		fs.mkdirSync(CACHE, { recursive: true });
		// Written aside, then renamed: processes started at once never read half a file.
		fs.writeFileSync(`${cached}.${process.pid}`, code);
		fs.renameSync(`${cached}.${process.pid}`, cached);
	}
	module._compile(code, fileName);
}

// `.ts` first, before `.json`: a node's `X.node.ts` and its codex file `X.node.json` share a name
// (ts-node's --prefer-ts-exts).
const others = { ...require.extensions };
for (const extension of Object.keys(require.extensions)) delete require.extensions[extension];
require.extensions['.ts'] = loadTypeScript;
Object.assign(require.extensions, others);
