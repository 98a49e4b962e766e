/**
 * Smoke test against a real n8n (the pinned runtime, Node 24): our package, packed and installed as
 * a community package, loads; its credential types are usable through the public API; and a
 * workflow created through the public API can be published, runs on its trigger and unpublished.
 */
import { existsSync, readFileSync } from 'fs';
import * as path from 'path';

import type { Sandboxes } from '../../sandbox/index';
import type { N8nInstance } from '../../sandbox/n8n/launcher';
import {
	N8N_SETUP_TIMEOUT_MS,
	declaredTypes,
	n8nLogTail,
	scheduledNoOpWorkflow,
	sandboxCredentialData,
	startN8nWithPackage,
	startSandboxOnFreePorts,
	workflowForApi,
} from '../support/n8n';

let n8n: N8nInstance | undefined;
let sandbox: Sandboxes | undefined;

beforeAll(async () => {
	sandbox = await startSandboxOnFreePorts();
	n8n = await startN8nWithPackage();
}, N8N_SETUP_TIMEOUT_MS);

afterAll(async () => {
	await n8n?.stop();
	await sandbox?.close();
}, 60_000);

function instance(): N8nInstance {
	if (!n8n) throw new Error('n8n did not start (see the beforeAll error)');
	return n8n;
}

describe('Real n8n with this package', () => {
	it('installs the package as a community package under the n8n user folder', async () => {
		const { packageName } = await declaredTypes();
		const installed = path.join(
			instance().userFolder,
			'.n8n',
			'nodes',
			'node_modules',
			packageName,
			'package.json',
		);
		expect(existsSync(installed)).toBe(true);
		expect(JSON.parse(readFileSync(installed, 'utf8')).name).toBe(packageName);
	});

	it('loads every node type the package declares as <package>.<node>', async () => {
		const { packageName, nodeTypes } = await declaredTypes();
		const loaded = (await instance().rest.nodeTypes()).map((type) => type.name);
		// n8n's own nodes prove the listing is real even while the package declares no nodes.
		expect(loaded).toContain('n8n-nodes-base.noOp');
		const ours = loaded.filter((name) => name.startsWith(`${packageName}.`));
		expect(ours.sort()).toEqual([...nodeTypes].sort());
	});

	it('loads every credential type the package declares and serves its schema', async () => {
		const { credentialTypes } = await declaredTypes();
		const loaded = (await instance().rest.credentialTypes()).map((type) => type.name);
		for (const type of credentialTypes) {
			expect(loaded).toContain(type);
			const schema = await instance().api.credentialSchema(type);
			expect(Object.keys(schema.properties).length).toBeGreaterThan(0);
		}
		// A type n8n does not know is refused, so the check above can fail.
		await expect(instance().api.credentialSchema('noSuchCredentialTypeHere')).rejects.toThrow(
			/credentials\/schema\/noSuchCredentialTypeHere/,
		);
	});

	it.each(['dynamics365Api', 'adobeCampaignStandardApi'] as const)(
		'stores a credential of type %s pointing at the sandbox, and its test passes inside n8n',
		async (type) => {
			if (!sandbox) throw new Error('the sandbox did not start');
			const { api, rest } = instance();
			const data = sandboxCredentialData(sandbox)[type];
			const credential = await api.createCredential({ name: `Sandbox ${type}`, type, data });
			try {
				const passed = await rest.testCredential({ ...credential, data });
				expect(passed).toEqual(expect.objectContaining({ status: 'OK' }));

				const wrongSecret = 'definitely-not-the-secret';
				const failed = await rest.testCredential({
					...credential,
					data: { ...data, clientSecret: wrongSecret },
				});
				expect(failed.status).toBe('Error');
				expect(failed.message).not.toContain(wrongSecret);
			} catch (error) {
				throw new Error(`${(error as Error).message}\n--- n8n log tail ---\n${n8nLogTail(n8n)}`);
			} finally {
				await api.deleteCredential(credential.id).catch(() => undefined);
			}
		},
		60_000,
	);

	it('creates, publishes, runs and unpublishes a workflow through the public API', async () => {
		const { api } = instance();
		// Shaped like an export or a template, with the fields the public API refuses.
		const exported = {
			...scheduledNoOpWorkflow('Smoke: schedule to NoOp', 1),
			id: 'exported-id',
			active: true,
			pinData: {},
			meta: { templateCredsSetupCompleted: true },
			tags: [],
		};
		const created = await api.createWorkflow(workflowForApi(exported));
		try {
			expect(created.active).toBe(false);

			const published = await api.publishWorkflow(created.id);
			expect(published.active).toBe(true);

			const executions = await api.waitForExecutions(created.id, (runs) =>
				runs.some((run) => run.status === 'success'),
			);
			const run = executions.find((execution) => execution.status === 'success');
			const noOpOutput = run?.data?.resultData.runData['Do nothing']?.[0]?.data?.main?.[0];
			expect(noOpOutput?.length).toBe(1);

			const unpublished = await api.unpublishWorkflow(created.id);
			expect(unpublished.active).toBe(false);
			expect((await api.getWorkflow(created.id)).active).toBe(false);
		} catch (error) {
			throw new Error(`${(error as Error).message}\n--- n8n log tail ---\n${n8nLogTail(n8n)}`);
		} finally {
			await api.deleteWorkflow(created.id).catch(() => undefined);
		}
	}, 180_000);

	// Last on purpose: it stops the instance the other tests use.
	it('stops n8n and every process it started', async () => {
		const { pid, baseUrl, userFolder } = instance();
		const groupAlive = () => {
			try {
				process.kill(-pid, 0);
				return true;
			} catch {
				return false;
			}
		};
		expect(groupAlive()).toBe(true);
		await instance().stop();
		expect(groupAlive()).toBe(false);
		await expect(fetch(`${baseUrl}/healthz`)).rejects.toThrow();
		expect(existsSync(userFolder)).toBe(false);
	}, 60_000);
});
