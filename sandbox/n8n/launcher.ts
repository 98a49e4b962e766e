/**
 * Starts a real, headless n8n (the pinned runtime from install-runtime.ts) with this package
 * installed as a community package, the way a user installs it: `npm pack` output installed into
 * `<userFolder>/.n8n/nodes`, so node types are `n8n-nodes-dynamics-campaign.<node>` as in the
 * templates. Then it bootstraps the owner and an API key so callers can drive n8n through its API.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import * as os from 'os';
import * as path from 'path';

import { spawnProcessGroup, type ProcessGroup } from '../common/process-group';
import { N8nApi, N8nRestClient, n8nRest } from './api';
import {
	N8N_VERSION,
	defaultRuntimeDir,
	isRuntimeInstalled,
	runCommand,
	runtimeEnv,
	runtimePaths,
} from './install-runtime';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Fixed so a kept user folder can be reopened; it protects only throwaway test credentials. */
export const N8N_TEST_ENCRYPTION_KEY = 'n8n-nodes-dynamics-campaign-local-test-key';

export const DEFAULT_OWNER = {
	email: 'owner@example.com',
	password: 'Sandbox-Owner-1',
	firstName: 'Sandbox',
	lastName: 'Owner',
};

/** What the API key may do: everything the tests and tools do with workflows and their runs. */
const API_KEY_SCOPE_PREFIXES = ['workflow:', 'execution:', 'credential:', 'tag:'];

export interface StartN8nOptions {
	/** n8n's home (`N8N_USER_FOLDER`); a fresh temp folder, removed on stop, when omitted. */
	userFolder?: string;
	/** HTTP port; a free one when omitted. */
	port?: number;
	/** Package tarball to install; when omitted `packageDir` is built and packed. */
	packageTarball?: string;
	/** Package source folder to build and pack; defaults to this repository. */
	packageDir?: string;
	/** Skip installing our package (n8n then runs with built-in nodes only). */
	withoutPackage?: boolean;
	/** Extra environment for n8n; wins over the defaults below. */
	env?: Record<string, string>;
	/** Options for n8n's Node.js (`--require` of a benchmark's profiler, say), before n8n's script. */
	nodeArgs?: string[];
	/** The n8n release to run (installed with install-runtime.ts); defaults to N8N_VERSION. */
	n8nVersion?: string;
	/** Runtime folder of that release (see install-runtime.ts). */
	runtimeDir?: string;
	/** Receives progress lines and n8n's output; silent when omitted. */
	log?: (line: string) => void;
	/** How long to wait for `/healthz/readiness` and the REST routes. */
	startTimeoutMs?: number;
}

export interface N8nInstance {
	/** The n8n release running. */
	version: string;
	baseUrl: string;
	port: number;
	/** Process id of n8n, also the id of its process group. */
	pid: number;
	userFolder: string;
	apiKey: string;
	/** `n8n-auth=…` cookie of the owner, for the internal REST API. */
	cookie: string;
	owner: { email: string; password: string };
	api: N8nApi;
	rest: N8nRestClient;
	/** n8n's stdout and stderr lines, newest last (bounded). */
	logs: string[];
	/** Stops n8n and every process it started; removes the user folder if we created it. */
	stop(): Promise<void>;
}

const MAX_LOG_LINES = 5000;

export async function startN8n(options: StartN8nOptions = {}): Promise<N8nInstance> {
	const log = options.log ?? (() => undefined);
	const version = options.n8nVersion ?? N8N_VERSION;
	const runtimeDir = options.runtimeDir ?? defaultRuntimeDir(version);
	if (!isRuntimeInstalled(runtimeDir, version)) {
		throw new Error(
			`n8n ${version} is not installed: run \`npm run n8n:install -- --n8n ${version}\` first`,
		);
	}
	const paths = runtimePaths(runtimeDir);
	const ownFolder = options.userFolder === undefined;
	const userFolder = path.resolve(
		options.userFolder ?? mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-')),
	);
	mkdirSync(userFolder, { recursive: true });

	let packageName: string | undefined;
	if (!options.withoutPackage) {
		const tarball = options.packageTarball ?? (await packPackage(options.packageDir, log));
		try {
			packageName = await installCommunityPackage(userFolder, tarball, paths, log);
		} finally {
			// npm copied the package into node_modules; a tarball we packed ourselves is no longer needed.
			if (!options.packageTarball) rmSync(path.dirname(tarball), { recursive: true, force: true });
		}
	}

	const port = options.port ?? (await freePort());
	const baseUrl = `http://127.0.0.1:${port}`;
	const env = runtimeEnv(paths, {
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: N8N_TEST_ENCRYPTION_KEY,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PROTOCOL: 'http',
		WEBHOOK_URL: `${baseUrl}/`,
		N8N_EDITOR_BASE_URL: `${baseUrl}/`,
		N8N_SECURE_COOKIE: 'false',
		DB_TYPE: 'sqlite',
		GENERIC_TIMEZONE: 'UTC',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		N8N_PUBLIC_API_DISABLED: 'false',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'all',
		EXECUTIONS_DATA_SAVE_ON_ERROR: 'all',
		// The task runner broker has a fixed default port; two instances (or two engineers) collide.
		N8N_RUNNERS_BROKER_PORT: String(await freePort()),
		N8N_LOG_LEVEL: 'info',
		...options.env,
	});
	// Settings meant for the test process must not reach n8n: under jest NODE_ENV is `test`, in
	// which n8n exits at once without a word; NODE_OPTIONS may carry ts-node hooks or an inspector.
	delete env.NODE_OPTIONS;
	for (const key of Object.keys(env)) if (key.startsWith('JEST_')) delete env[key];
	env.NODE_ENV = options.env?.NODE_ENV ?? 'production';

	log(`[n8n] starting on ${baseUrl} (user folder ${userFolder})`);
	const started = Date.now();
	// Own process group, so stopping it reaches the task runner and anything else n8n spawns.
	const group = spawnProcessGroup(
		paths.nodeBin,
		[...(options.nodeArgs ?? []), paths.n8nBin, 'start'],
		{
			cwd: userFolder,
			env,
			name: 'n8n',
			log,
			maxLogLines: MAX_LOG_LINES,
		},
	);
	const logs = group.logs;

	let stopped = false;
	const stop = async () => {
		if (stopped) return;
		stopped = true;
		await group.stop('SIGTERM', 15_000);
		if (ownFolder) rmSync(userFolder, { recursive: true, force: true });
		log('[n8n] stopped');
	};

	try {
		await waitForReadiness(baseUrl, group, options.startTimeoutMs ?? 180_000);
		log(`[n8n] ready for API calls after ${Math.round((Date.now() - started) / 1000)}s`);

		const owner = { email: DEFAULT_OWNER.email, password: DEFAULT_OWNER.password };
		const cookie = await ownerCookie(baseUrl);
		const rest = new N8nRestClient(baseUrl, cookie);
		const available = await rest.apiKeyScopes();
		const scopes = available?.filter((scope) =>
			API_KEY_SCOPE_PREFIXES.some((prefix) => scope.startsWith(prefix)),
		);
		const apiKey = await rest.createApiKey(`e2e ${new Date().toISOString()}`, scopes);
		const api = new N8nApi(baseUrl, apiKey, version);

		if (packageName) await assertPackageLoaded(rest, packageName, userFolder);
		log(`[n8n] ready after ${Math.round((Date.now() - started) / 1000)}s`);
		return {
			version,
			baseUrl,
			port,
			pid: group.pid,
			userFolder,
			apiKey,
			cookie,
			owner,
			api,
			rest,
			logs,
			stop,
		};
	} catch (error) {
		await stop();
		throw error;
	}
}

/** Sets up the owner on a fresh instance, or logs in when the user folder already has one. */
async function ownerCookie(baseUrl: string): Promise<string> {
	try {
		return await n8nRest.setupOwner(baseUrl, DEFAULT_OWNER);
	} catch (setupError) {
		try {
			return await n8nRest.login(baseUrl, DEFAULT_OWNER.email, DEFAULT_OWNER.password);
		} catch {
			throw setupError;
		}
	}
}

async function waitForReadiness(
	baseUrl: string,
	n8n: ProcessGroup,
	timeoutMs: number,
): Promise<void> {
	const { child, logs } = n8n;
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (n8n.exited()) {
			throw new Error(
				`n8n exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(logs)}`,
			);
		}
		if (await n8nRest.isReady(baseUrl)) return;
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
	throw new Error(
		`n8n was not ready (${baseUrl}/healthz/readiness, then /rest/login) within ${timeoutMs} ms:\n${tail(logs)}`,
	);
}

/** Every node file the package declares must have produced a `<package>.<node>` type. */
async function assertPackageLoaded(
	rest: N8nRestClient,
	packageName: string,
	userFolder: string,
): Promise<void> {
	const manifest = readInstalledManifest(userFolder, packageName);
	const declared = manifest.n8n?.nodes?.length ?? 0;
	if (declared === 0) return;
	const loaded = (await rest.nodeTypes()).filter((type) => type.name.startsWith(`${packageName}.`));
	if (loaded.length < declared) {
		throw new Error(
			`n8n loaded ${loaded.length} of the ${declared} nodes declared by ${packageName} ` +
				`(${loaded.map((type) => type.name).join(', ') || 'none'})`,
		);
	}
}

interface PackageManifest {
	name: string;
	version: string;
	n8n?: { nodes?: string[]; credentials?: string[] };
}

function readInstalledManifest(userFolder: string, packageName: string): PackageManifest {
	const file = path.join(userFolder, '.n8n', 'nodes', 'node_modules', packageName, 'package.json');
	return JSON.parse(readFileSync(file, 'utf8')) as PackageManifest;
}

/** Builds the package (this repository by default) and packs it as npm would publish it. */
export async function packPackage(
	packageDir = REPO_ROOT,
	log: (line: string) => void = () => undefined,
): Promise<string> {
	log('[n8n] building the package (npm run build)');
	await runCommand('npm', ['run', 'build', '--silent'], { cwd: packageDir, env: process.env });
	const destination = mkdtempSync(path.join(os.tmpdir(), 'n8n-pack-'));
	// Scripts stay off: prepack would clean and rebuild what we just built.
	const output = await runCommand(
		'npm',
		['pack', '--ignore-scripts', '--json', '--pack-destination', destination],
		{ cwd: packageDir, env: process.env },
	);
	const [packed] = JSON.parse(output) as Array<{ filename: string }>;
	const tarball = path.join(destination, packed.filename);
	log(`[n8n] packed ${tarball}`);
	return tarball;
}

/**
 * Installs the tarball into `<userFolder>/.n8n/nodes`, where n8n looks for community packages at
 * startup. Peer dependencies (n8n-workflow) are left out: n8n provides its own.
 */
export async function installCommunityPackage(
	userFolder: string,
	tarball: string,
	paths = runtimePaths(),
	log: (line: string) => void = () => undefined,
): Promise<string> {
	const nodesFolder = path.join(userFolder, '.n8n', 'nodes');
	mkdirSync(nodesFolder, { recursive: true });
	const manifestFile = path.join(nodesFolder, 'package.json');
	if (!existsSync(manifestFile)) {
		writeFileSync(
			manifestFile,
			JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2) + '\n',
		);
	}
	log(`[n8n] installing ${path.basename(tarball)} into ${nodesFolder}`);
	await runCommand(
		'npm',
		[
			'install',
			path.resolve(tarball),
			'--ignore-scripts',
			'--legacy-peer-deps',
			'--omit=dev',
			'--no-audit',
			'--no-fund',
			'--loglevel=error',
		],
		{ cwd: nodesFolder, env: runtimeEnv(paths) },
	);
	const installed = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
		dependencies?: Record<string, string>;
	};
	const name = Object.keys(installed.dependencies ?? {}).find((dep) =>
		(installed.dependencies?.[dep] ?? '').includes(path.basename(tarball)),
	);
	if (!name) throw new Error(`npm installed ${tarball} but ${manifestFile} does not list it`);
	return name;
}

function tail(logs: string[], lines = 40): string {
	return logs.length ? logs.slice(-lines).join('\n') : '(n8n printed nothing)';
}

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			server.close(() => resolve(port));
		});
	});
}
