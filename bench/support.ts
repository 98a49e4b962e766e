/**
 * Shared plumbing of the benchmark cases: the sandboxes in their own process, n8n's engine with our
 * nodes and n8n's built-in nodes (loaded from the installed n8n runtime), credentials pointing at
 * the sandboxes, and measurements (wall time, peak memory, request counters).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

import type { INodeType, IVersionedNodeType } from 'n8n-workflow';

import { CampaignSandboxAdmin } from '../sandbox/campaign/admin';
import { isRuntimeInstalled, runtimePaths } from '../sandbox/n8n/install-runtime';
import { DataverseSandboxAdmin } from '../sandbox/dataverse/admin';
import { sandboxCredentials } from '../sandbox/harness/credentials';
import { nodeTypes as packageNodeTypes } from '../sandbox/harness/node-types';
import {
	TestCredentialsHelper,
	TestNodeTypes,
	TestWorkflow,
	type WorkflowJson,
} from '../sandbox/harness/engine';

export const ROOT = path.resolve(__dirname, '..');
/** n8n's own nodes, from the runtime `npm run n8n:install` (and `npm start`) installs. */
const RUNTIME_NODES = path.join(runtimePaths().n8nHome, 'node_modules/n8n-nodes-base/dist/nodes');

/** Versions of the built-in nodes used by the peers (the current ones of n8n 2.40). */
export const BUILT_IN_VERSIONS = { filter: 2.2, set: 3.4, httpRequest: 4.2 } as const;

export function runtimeInstalled(): boolean {
	return isRuntimeInstalled() && fs.existsSync(path.join(RUNTIME_NODES, 'Filter/Filter.node.js'));
}

/** n8n's own Filter, Edit Fields (Set) and HTTP Request nodes, from the installed n8n runtime. */
export function builtInNodes(): Record<string, INodeType> {
	const load = (file: string, exportName: string, version: number): INodeType => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const module = require(path.join(RUNTIME_NODES, file)) as Record<string, new () => unknown>;
		const instance = new module[exportName]() as IVersionedNodeType | INodeType;
		if ('nodeVersions' in instance) {
			const node = instance.nodeVersions[version];
			if (!node) throw new Error(`n8n's ${exportName} node has no version ${version}`);
			return node;
		}
		return instance;
	};
	return {
		'n8n-nodes-base.filter': load('Filter/Filter.node.js', 'Filter', BUILT_IN_VERSIONS.filter),
		'n8n-nodes-base.set': load('Set/Set.node.js', 'Set', BUILT_IN_VERSIONS.set),
		'n8n-nodes-base.noOp': load('NoOp/NoOp.node.js', 'NoOp', 1),
		'n8n-nodes-base.if': load('If/If.node.js', 'If', 2.2),
		'n8n-nodes-base.splitOut': load('Transform/SplitOut/SplitOut.node.js', 'SplitOut', 1),
		'n8n-nodes-base.httpRequest': load(
			'HttpRequest/HttpRequest.node.js',
			'HttpRequest',
			BUILT_IN_VERSIONS.httpRequest,
		),
	};
}

export interface SandboxUrls {
	dataverse: string;
	campaign: string;
}

export interface SandboxProcess extends SandboxUrls {
	pid: number;
	dataverseAdmin: DataverseSandboxAdmin;
	campaignAdmin: CampaignSandboxAdmin;
	/** Peak RSS of the sandbox process in bytes (from /proc while it runs). */
	peakRss(): number;
	close(): Promise<void>;
}

/** Runs a TypeScript file of the project in a fresh process, its sources cached (bench/ts-cache.js). */
function tsNodeArgs(script: string, heapMb: number): string[] {
	return [
		`--max-old-space-size=${heapMb}`,
		'-r',
		path.join(ROOT, 'bench/ts-cache.js'),
		path.join(ROOT, script),
	];
}

/** Starts both sandboxes in a child process (port 0, loopback) and waits until they listen. */
export async function startSandboxProcess(heapMb = 8192): Promise<SandboxProcess> {
	const child: ChildProcess = spawn(
		process.execPath,
		tsNodeArgs('bench/sandbox-process.ts', heapMb),
		{
			cwd: ROOT,
			stdio: ['ignore', 'pipe', 'inherit'],
		},
	);
	const urls = await new Promise<SandboxUrls>((resolve, reject) => {
		const timer = setTimeout(
			() => reject(new Error('sandbox process did not start in 120 s')),
			120_000,
		);
		const lines = readline.createInterface({ input: child.stdout! });
		lines.on('line', (line) => {
			if (!line.startsWith('READY ')) return;
			clearTimeout(timer);
			resolve(JSON.parse(line.slice(6)) as SandboxUrls);
		});
		child.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`sandbox process exited with ${code} before it was ready`));
		});
	});
	let peak = 0;
	const sample = () => {
		try {
			const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
			const match = /VmHWM:\s+(\d+) kB/.exec(status);
			if (match) peak = Math.max(peak, Number(match[1]) * 1024);
		} catch {
			// the process is gone
		}
	};
	const sampler = setInterval(sample, 500);
	return {
		...urls,
		pid: child.pid!,
		dataverseAdmin: new DataverseSandboxAdmin(urls.dataverse),
		campaignAdmin: new CampaignSandboxAdmin(urls.campaign),
		peakRss: () => {
			sample();
			return peak;
		},
		close: async () => {
			sample();
			clearInterval(sampler);
			if (child.exitCode !== null) return;
			const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
			await exited;
			clearTimeout(timer);
		},
	};
}

export interface Engine {
	nodeTypes: TestNodeTypes;
	credentials: TestCredentialsHelper;
	workflow(json: WorkflowJson): TestWorkflow;
}

/** n8n's engine with our nodes, the built-in peers and both credentials set to the sandboxes. */
export function engine(
	urls: SandboxUrls,
	withBuiltIns = false,
	extraTypes: Record<string, INodeType> = {},
): Engine {
	const credentials = sandboxCredentials(urls);
	const nodeTypes = new TestNodeTypes({
		...packageNodeTypes(),
		...(withBuiltIns ? builtInNodes() : {}),
		...extraTypes,
	});
	return {
		nodeTypes,
		credentials,
		workflow: (json) => new TestWorkflow(json, nodeTypes, credentials),
	};
}

export function loadTemplate(name: string): WorkflowJson {
	return JSON.parse(fs.readFileSync(path.join(ROOT, 'templates', name), 'utf8')) as WorkflowJson;
}

/** A template's nodes reachable from `start` (one chain of a multi-chain template). */
export function chainOf(template: WorkflowJson, start: string): WorkflowJson {
	const keep = new Set<string>([start]);
	const queue = [start];
	while (queue.length) {
		const name = queue.shift()!;
		for (const outputs of template.connections[name]?.main ?? []) {
			for (const c of outputs ?? []) {
				if (!keep.has(c.node)) {
					keep.add(c.node);
					queue.push(c.node);
				}
			}
		}
	}
	return {
		...template,
		nodes: template.nodes.filter((n) => keep.has(n.name)),
		connections: Object.fromEntries(
			Object.entries(template.connections).filter(([name]) => keep.has(name)),
		),
	};
}

/** Peak RSS of this process so far, in bytes (the kernel's high-water mark). */
export function peakRss(): number {
	return process.resourceUsage().maxRSS * 1024;
}

/** CPU time of this process (every thread: the engine, the nodes, garbage collection) since `start`, in µs. */
export function cpuMicrosSince(start: NodeJS.CpuUsage): number {
	const used = process.cpuUsage(start);
	return used.user + used.system;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
	const start = process.hrtime.bigint();
	const value = await fn();
	return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

/** Sum of the counters whose route name matches. */
export function sumCounters(counters: Record<string, number>, match: RegExp): number {
	return Object.entries(counters)
		.filter(([name]) => match.test(name))
		.reduce((sum, [, n]) => sum + n, 0);
}

/** Generates `count` contacts in chunks (the admin API answers with every id). */
export async function generateContacts(
	admin: DataverseSandboxAdmin,
	count: number,
	seed = 1,
): Promise<void> {
	const chunk = 50_000;
	for (let done = 0, i = 0; done < count; done += chunk, i++) {
		await admin.generate('contact', Math.min(chunk, count - done), seed * 1000 + i);
	}
}

/**
 * Runs another case of bench/case.ts in a child process and returns its result: set-up work whose
 * memory must not count towards the peak of the process being measured.
 */
export function runInChild<T>(caseName: string, params: unknown, heapMb = 8192): Promise<T> {
	return new Promise((resolve, reject) => {
		const child = spawn(
			process.execPath,
			[...tsNodeArgs('bench/case.ts', heapMb), caseName, JSON.stringify(params)],
			{
				cwd: ROOT,
				env: { ...process.env, TS_NODE_PREFER_TS_EXTS: 'true' },
				stdio: ['ignore', 'pipe', 'inherit'],
			},
		);
		let stdout = '';
		child.stdout!.on('data', (d) => (stdout += d));
		child.once('exit', (code) => {
			const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
			if (code === 0 && line) resolve(JSON.parse(line.slice(7)) as T);
			else reject(new Error(`${caseName} exited with ${code}`));
		});
	});
}
