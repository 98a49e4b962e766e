/**
 * Helpers for tests that drive a real n8n: start it with this package (installing the pinned
 * runtime first if needed), read which node and credential types the package declares, and
 * build small workflows.
 */
import { existsSync, readFileSync } from 'fs';
import * as path from 'path';

import type { WorkflowDefinition, WorkflowNode } from '../../sandbox/n8n/api';
import { installRuntime } from '../../sandbox/n8n/install-runtime';
import { CampaignSandboxAdmin } from '../../sandbox/campaign/admin';
import { DataverseSandboxAdmin } from '../../sandbox/dataverse/admin';
import { Sandboxes, startSandbox } from '../../sandbox/index';
import { N8nInstance, StartN8nOptions, startN8n } from '../../sandbox/n8n/launcher';

import { sandboxCredentialData } from '../../sandbox/n8n/sandbox-credentials';
import type { CredentialRefs } from '../../sandbox/n8n/templates';

export { sandboxCredentialData };
export { workflowForApi, type WorkflowFile } from '../../sandbox/n8n/templates';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * First run installs Node and n8n (up to 13 minutes measured on a busy 2-core machine, longer
 * while other test files install other releases at the same time); n8n then needs up to a minute
 * or two to start.
 */
export const N8N_SETUP_TIMEOUT_MS = 25 * 60_000;

/** Progress goes straight to stderr: jest holds console output back until a test ends. */
export function progress(line: string): void {
	if (line.startsWith('  n8n|')) return;
	process.stderr.write(`${line}\n`);
}

/**
 * Installs the runtime when missing, then starts n8n with the package built, packed and installed.
 * The package is this repository unless env N8N_E2E_PACKAGE_DIR names another checkout of it.
 */
export async function startN8nWithPackage(options: StartN8nOptions = {}): Promise<N8nInstance> {
	await installRuntime({ n8nVersion: options.n8nVersion, dir: options.runtimeDir, log: progress });
	return startN8n({ log: progress, packageDir: packageDir(), ...options });
}

/** Source folder of the package under test. */
export function packageDir(): string {
	return path.resolve(process.env.N8N_E2E_PACKAGE_DIR || REPO_ROOT);
}

/** The last lines n8n printed, for a failing test's message. */
export function n8nLogTail(instance: N8nInstance | undefined, lines = 60): string {
	return instance ? instance.logs.slice(-lines).join('\n') : '(n8n did not start)';
}

interface DeclaredTypes {
	packageName: string;
	/**
	 * Full node type names as workflows use them: `<package>.<node name>`, plus the
	 * `<package>.<node name>Tool` variant n8n adds for nodes that are usable as AI tools.
	 */
	nodeTypes: string[];
	/** Credential type names. */
	credentialTypes: string[];
}

interface DeclaredType {
	name: string;
	usableAsTool: boolean;
}

/**
 * The node and credential types that the package's `n8n` section declares, read from its built
 * files in dist/ (so build first; startN8nWithPackage does).
 */
export async function declaredTypes(root = packageDir()): Promise<DeclaredTypes> {
	const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
		name: string;
		n8n: { nodes: string[]; credentials: string[] };
	};
	const describe = async (file: string): Promise<DeclaredType[]> => {
		const absolute = path.join(root, file);
		if (!existsSync(absolute))
			throw new Error(`package.json declares ${file}, which was not built`);
		const exports = (await import(absolute)) as Record<string, new () => unknown>;
		return Object.values(exports)
			.filter((value) => typeof value === 'function')
			.map(
				(Type) =>
					new Type() as { name?: string; description?: { name: string; usableAsTool?: unknown } },
			)
			.map((instance) => ({
				name: instance.description?.name ?? instance.name ?? '',
				usableAsTool: Boolean(instance.description?.usableAsTool),
			}))
			.filter((type) => type.name !== '');
	};
	const nodes = (await Promise.all(manifest.n8n.nodes.map(describe))).flat();
	const credentials = (await Promise.all(manifest.n8n.credentials.map(describe))).flat();
	return {
		packageName: manifest.name,
		nodeTypes: nodes.flatMap((node) => {
			const type = `${manifest.name}.${node.name}`;
			return node.usableAsTool ? [type, `${type}Tool`] : [type];
		}),
		credentialTypes: credentials.map((credential) => credential.name),
	};
}

/** Both API sandboxes on free ports, so parallel test files and a running `npm run sandbox` don't collide. */
export function startSandboxOnFreePorts(): Promise<Sandboxes> {
	return startSandbox({ dataverse: { port: 0 }, campaign: { port: 0 } });
}

/** A trigger-plus-NoOp workflow whose Schedule Trigger fires every `seconds` seconds. */
export function scheduledNoOpWorkflow(name: string, seconds: number): WorkflowDefinition {
	const trigger: WorkflowNode = {
		name: 'Every few seconds',
		type: 'n8n-nodes-base.scheduleTrigger',
		typeVersion: 1.2,
		position: [0, 0],
		parameters: { rule: { interval: [{ field: 'seconds', secondsInterval: seconds }] } },
	};
	const noOp: WorkflowNode = {
		name: 'Do nothing',
		type: 'n8n-nodes-base.noOp',
		typeVersion: 1,
		position: [220, 0],
		parameters: {},
	};
	return {
		name,
		nodes: [trigger, noOp],
		connections: {
			[trigger.name]: { main: [[{ node: noOp.name, type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1', saveDataSuccessExecution: 'all' },
	};
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
	what: string,
	check: () => Promise<T | undefined | false>,
	options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
	const timeoutMs = options.timeoutMs ?? 90_000;
	const deadline = Date.now() + timeoutMs;
	let lastError: unknown;
	while (Date.now() < deadline) {
		try {
			const value = await check();
			if (value !== undefined && value !== false) return value as T;
		} catch (error) {
			lastError = error;
		}
		await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000));
	}
	const detail = lastError ? ` (last error: ${(lastError as Error).message})` : '';
	throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}

/** Everything an end-to-end test drives: the sandboxes, their admin clients, n8n and credentials. */
export interface E2eEnvironment {
	sandbox: Sandboxes;
	dataverse: DataverseSandboxAdmin;
	campaign: CampaignSandboxAdmin;
	n8n: N8nInstance;
	/** n8n credentials pointing at the sandboxes, by credential type. */
	credentials: CredentialRefs;
	stop(): Promise<void>;
}

/** Sandboxes on free ports (empty Dynamics), n8n with the package, and both credentials. */
export async function startE2eEnvironment(options: StartN8nOptions = {}): Promise<E2eEnvironment> {
	const sandbox = await startSandbox({
		dataverse: { port: 0, demoRecords: 0 },
		campaign: { port: 0 },
	});
	let n8n: N8nInstance | undefined;
	try {
		n8n = await startN8nWithPackage(options);
		const data = sandboxCredentialData(sandbox);
		const credentials: CredentialRefs = {};
		for (const [type, name] of [
			['dynamics365Api', 'Sandbox Dynamics 365'],
			['adobeCampaignStandardApi', 'Sandbox Adobe Campaign'],
		] as const) {
			const created = await n8n.api.createCredential({ name, type, data: data[type] });
			credentials[type] = { id: created.id, name: created.name };
		}
		const instance = n8n;
		return {
			sandbox,
			dataverse: new DataverseSandboxAdmin(sandbox.dataverse.url),
			campaign: new CampaignSandboxAdmin(sandbox.campaign.url),
			n8n: instance,
			credentials,
			async stop() {
				await instance.stop();
				await sandbox.close();
			},
		};
	} catch (error) {
		await n8n?.stop();
		await sandbox.close();
		throw error;
	}
}
