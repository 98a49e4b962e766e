/**
 * The package as a user gets it: a plain `npm pack` of a clean checkout, installed into the user
 * folder of a fresh, real n8n. Every node and credential loads; the templates it ships import
 * through the public API with their sticky notes; and a shipped template, given credentials, runs
 * against the sandboxes and turns its execution red when a record fails.
 */
import { existsSync, readFileSync, readdirSync, symlinkSync } from 'fs';
import * as path from 'path';

import type { Execution } from '../../sandbox/n8n/api';
import {
	TEMPLATE_FILES,
	withScheduleEvery,
	workflowForApi,
	type WorkflowFile,
} from '../../sandbox/n8n/templates';
import {
	E2eEnvironment,
	N8N_SETUP_TIMEOUT_MS,
	declaredTypes,
	n8nLogTail,
	startE2eEnvironment,
	waitFor,
} from '../support/n8n';
import { PackedPackage, REPO_ROOT, packCleanCheckout, unpack } from '../support/package';

const PACKAGE = 'n8n-nodes-dynamics-campaign';
const STICKY_NOTE = 'n8n-nodes-base.stickyNote';

let packed: PackedPackage | undefined;
let unpacked: { dir: string; remove(): void } | undefined;
let env: E2eEnvironment | undefined;

beforeAll(async () => {
	packed = await packCleanCheckout();
	unpacked = await unpack(packed.tarball);
	// The package's own files, with its peer dependency (n8n-workflow) resolvable, to list its types.
	symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(unpacked.dir, 'node_modules'), 'dir');
	env = await startE2eEnvironment({ packageTarball: packed.tarball });
}, N8N_SETUP_TIMEOUT_MS);

afterAll(async () => {
	await env?.stop();
	unpacked?.remove();
	packed?.remove();
}, 60_000);

function e2e(): E2eEnvironment {
	if (!env) throw new Error('n8n or the sandboxes did not start (see the beforeAll error)');
	return env;
}

function installedDir(): string {
	return path.join(e2e().n8n.userFolder, '.n8n', 'nodes', 'node_modules', PACKAGE);
}

function installedTemplate(file: string): WorkflowFile {
	return JSON.parse(readFileSync(path.join(installedDir(), 'templates', file), 'utf8'));
}

async function withLogs<T>(run: () => Promise<T>): Promise<T> {
	try {
		return await run();
	} catch (error) {
		(error as Error).message += `\n--- n8n log tail ---\n${n8nLogTail(env?.n8n, 40)}`;
		throw error;
	}
}

describe('A clean-checkout tarball installed into n8n', () => {
	it('loads every node and credential type the packed package declares', async () => {
		const declared = await declaredTypes(unpacked!.dir);
		const { rest } = e2e().n8n;
		const nodes = (await rest.nodeTypes()).map((type) => type.name);
		expect(nodes.filter((name) => name.startsWith(`${PACKAGE}.`)).sort()).toEqual(
			[...declared.nodeTypes].sort(),
		);
		const credentials = (await rest.credentialTypes()).map((type) => type.name);
		for (const type of declared.credentialTypes) expect(credentials).toContain(type);
		expect(declared.credentialTypes).toHaveLength(2);
	});

	it('ships the three templates, which import as they are, sticky notes included', async () => {
		await withLogs(async () => {
			const { api, rest } = e2e().n8n;
			expect(readdirSync(path.join(installedDir(), 'templates')).sort()).toEqual(
				Object.values(TEMPLATE_FILES).sort(),
			);
			const known = new Set((await rest.nodeTypes()).map((type) => type.name));
			for (const file of Object.values(TEMPLATE_FILES)) {
				const template = installedTemplate(file);
				// As a user imports it: no credentials linked yet.
				const created = await api.createWorkflow(workflowForApi(template));
				try {
					const stored = await api.getWorkflow(created.id);
					const notes = (nodes: WorkflowFile['nodes']) =>
						nodes
							.filter((node) => node.type === STICKY_NOTE)
							.map((node) => node.parameters.content);
					expect(notes(stored.nodes).length).toBeGreaterThanOrEqual(2);
					expect(notes(stored.nodes)).toEqual(notes(template.nodes));
					for (const node of stored.nodes) expect(known).toContain(node.type);
					expect(stored.settings).toMatchObject({ saveDataSuccessExecution: 'none' });
				} finally {
					await api.deleteWorkflow(created.id);
				}
			}
		});
	}, 120_000);

	it('runs the shipped email-events template once credentials are chosen, and a failed event turns the execution red', async () => {
		await withLogs(async () => {
			const { api } = e2e().n8n;
			const { dataverse, campaign, credentials } = e2e();
			const contactIds = await dataverse.generate('contact', 4, 71);
			const profiles = await campaign.insert('profile', [
				...contactIds.map((id, i) => ({ externalId: id, email: `installed${i}@example.com` })),
				{ externalId: '00000000-0000-4000-8000-0000000000bb', email: 'nobody@example.com' },
			]);
			await campaign.simulateDelivery({ profiles: profiles.map((p) => p.PKey), seed: 72 });
			const events = (await campaign.dump('cusEmailEvent')).records;
			const stranger = events.filter((e) => e.profileExternalId === profiles.at(-1)!.externalId);
			expect(stranger.length).toBeGreaterThan(0);

			const template = installedTemplate(TEMPLATE_FILES.campaignToDynamics);
			const body = withScheduleEvery(workflowForApi(template, credentials), 3);
			const workflow = await api.publishWorkflow((await api.createWorkflow(body)).id);
			let failed: Execution;
			try {
				failed = await waitFor('a failed execution', async () =>
					(await api.listExecutions({ workflowId: workflow.id, includeData: true })).find(
						(e) => e.status === 'error',
					),
				);
			} finally {
				await api.unpublishWorkflow(workflow.id);
			}
			const error = failed.data?.resultData.error;
			expect(error?.message).toBe(
				`${stranger.length} of ${events.length} email events could not be exported`,
			);
			for (const event of stranger) expect(JSON.stringify(error)).toContain(String(event.eventId));
			let written = 0;
			for (const table of [
				'adobe_emailsend',
				'adobe_emailopen',
				'adobe_emailclick',
				'adobe_emailbounce',
			]) {
				written += (await dataverse.dump(table)).records.length;
			}
			expect(written).toBe(events.length - stranger.length);
			expect(existsSync(path.join(installedDir(), 'dist'))).toBe(true);
		});
	}, 180_000);
});
