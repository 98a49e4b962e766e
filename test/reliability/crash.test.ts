/**
 * Crash in the middle of an initial load: a real n8n (our package installed as a community package)
 * runs the Dynamics 365 → Campaign template, is killed with SIGKILL (its whole process group, task
 * runner included) while the initial-load execution is writing profiles, and is restarted on the
 * same user folder (same database, owner and credentials). Then the test does what an admin does:
 * list the executions, retry the ones that crashed or failed, and let the trigger go on. Campaign
 * must end exactly as the oracle computed from the Dynamics data says.
 *
 * Twice: with n8n's default poll cursors (static data saved when the poll hands its items to a new
 * execution) and with durable poll cursors (static data committed with the execution row).
 */
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

import { CampaignSandboxAdmin } from '../../sandbox/campaign/admin';
import { DataverseSandboxAdmin } from '../../sandbox/dataverse/admin';
import { Sandboxes, startSandbox } from '../../sandbox/index';
import type { Execution, Workflow } from '../../sandbox/n8n/api';
import { installRuntime } from '../../sandbox/n8n/install-runtime';
import { N8nInstance, packPackage, startN8n } from '../../sandbox/n8n/launcher';
import { sandboxCredentialData } from '../../sandbox/n8n/sandbox-credentials';
import {
	CredentialRefs,
	executionSummaries,
	loadTemplate,
	withSuccessfulExecutionsSaved,
	workflowForApi,
} from '../../sandbox/n8n/templates';
import { N8N_SETUP_TIMEOUT_MS, n8nLogTail, packageDir, progress, waitFor } from '../support/n8n';
import { expectedProfile, wrongFields, type Row } from '../support/template-oracle';

const CONTACTS = 1500;
const CONTACTS_UPSERT = 'Contacts: Campaign Upsert';

/** n8n 2.40's durable poll cursors (checked in its code: they work with SQLite too). */
const DURABLE_CURSORS = {
	N8N_SCHEDULER_ENABLED: 'true',
	N8N_SCHEDULER_POLL_TRIGGERS_ENABLED: 'true',
	N8N_USE_WORKFLOW_PUBLICATION_SERVICE: 'true',
	N8N_POLLER_DURABLE_CURSORS_ENABLED: 'true',
};

let tarball: string | undefined;

beforeAll(async () => {
	await installRuntime({ log: progress });
	tarball = await packPackage(packageDir(), progress);
}, N8N_SETUP_TIMEOUT_MS);

afterAll(() => {
	if (tarball) rmSync(path.dirname(tarball), { recursive: true, force: true });
});

interface Comparison {
	missing: string[];
	extra: string[];
	wrong: string[];
	duplicates: string[];
}

async function compareWithOracle(
	dataverse: DataverseSandboxAdmin,
	campaign: CampaignSandboxAdmin,
): Promise<Comparison> {
	const contacts = (await dataverse.dump('contact')).records;
	const profiles = (await campaign.dump('profile')).records;
	const byKey = new Map<unknown, Row[]>();
	for (const profile of profiles) {
		byKey.set(profile.externalId, [...(byKey.get(profile.externalId) ?? []), profile]);
	}
	const ids = new Set(contacts.map((c) => c.contactid));
	const result: Comparison = { missing: [], extra: [], wrong: [], duplicates: [] };
	for (const contact of contacts) {
		const found = byKey.get(contact.contactid) ?? [];
		const id = String(contact.contactid);
		if (found.length === 0) result.missing.push(id);
		if (found.length > 1) result.duplicates.push(id);
		if (found.length > 0 && wrongFields(expectedProfile(contact), found[0]).length) {
			result.wrong.push(id);
		}
	}
	for (const key of byKey.keys()) if (!ids.has(key)) result.extra.push(String(key));
	return result;
}

function groupAlive(pid: number): boolean {
	try {
		process.kill(-pid, 0);
		return true;
	} catch {
		return false;
	}
}

interface Scenario {
	sandbox: Sandboxes;
	dataverse: DataverseSandboxAdmin;
	campaign: CampaignSandboxAdmin;
	userFolder: string;
	env: Record<string, string>;
	n8n?: N8nInstance;
}

async function startScenario(env: Record<string, string>): Promise<Scenario> {
	const sandbox = await startSandbox({
		dataverse: { port: 0, demoRecords: 0 },
		campaign: { port: 0 },
	});
	return {
		sandbox,
		dataverse: new DataverseSandboxAdmin(sandbox.dataverse.url),
		campaign: new CampaignSandboxAdmin(sandbox.campaign.url),
		userFolder: mkdtempSync(path.join(os.tmpdir(), 'n8n-crash-')),
		env,
	};
}

async function startN8nIn(scenario: Scenario): Promise<N8nInstance> {
	scenario.n8n = await startN8n({
		userFolder: scenario.userFolder,
		packageTarball: tarball,
		env: scenario.env,
		log: progress,
	});
	return scenario.n8n;
}

async function stopScenario(scenario: Scenario | undefined): Promise<void> {
	if (!scenario) return;
	await scenario.n8n?.stop();
	await scenario.sandbox.close();
	rmSync(scenario.userFolder, { recursive: true, force: true });
}

/** Adds n8n's log tail to a failure. */
async function withLogs<T>(scenario: () => Scenario | undefined, run: () => Promise<T>) {
	try {
		return await run();
	} catch (error) {
		(error as Error).message += `\n--- n8n log tail ---\n${n8nLogTail(scenario()?.n8n, 40)}`;
		throw error;
	}
}

/**
 * Publishes the template, waits until its initial load is running and has written some profiles
 * (Campaign answers slowly so the load takes long), then kills n8n's process group with SIGKILL.
 * Returns the workflow and the number of profiles written when n8n died.
 */
async function killMidInitialLoad(scenario: Scenario): Promise<{ workflow: Workflow; at: number }> {
	const { dataverse, campaign } = scenario;
	await dataverse.generate('contact', CONTACTS, 61);
	await campaign.setLatency(100);
	const n8n = await startN8nIn(scenario);
	const data = sandboxCredentialData(scenario.sandbox);
	const credentials: CredentialRefs = {};
	for (const [type, name] of [
		['dynamics365Api', 'Sandbox Dynamics 365'],
		['adobeCampaignStandardApi', 'Sandbox Adobe Campaign'],
	] as const) {
		const created = await n8n.api.createCredential({ name, type, data: data[type] });
		credentials[type] = { id: created.id, name: created.name };
	}
	const body = workflowForApi(loadTemplate('dynamicsToCampaign'), credentials);
	// The recovery reads the successful executions, which the template does not save.
	const created = await n8n.api.createWorkflow({
		...body,
		settings: withSuccessfulExecutionsSaved(body.settings),
	});
	const workflow = await n8n.api.publishWorkflow(created.id);

	await waitFor(
		'the initial load to be running with some profiles written',
		async () => {
			// The public API lists running executions only when asked for them by status.
			const running = await n8n.api.listExecutions({ workflowId: workflow.id, status: 'running' });
			const written = (await campaign.dump('profile')).records.length;
			return running.length > 0 && written >= 100;
		},
		{ timeoutMs: 120_000, intervalMs: 250 },
	);
	process.kill(-n8n.pid, 'SIGKILL');
	await waitFor('n8n and its task runner to be gone', async () => !groupAlive(n8n.pid), {
		timeoutMs: 10_000,
		intervalMs: 100,
	});
	await n8n.stop();
	scenario.n8n = undefined;
	const at = (await campaign.dump('profile')).records.length;
	// Nothing of the killed n8n writes on: the count stays where the kill left it.
	await new Promise((resolve) => setTimeout(resolve, 1500));
	expect((await campaign.dump('profile')).records.length).toBe(at);
	expect(at).toBeLessThan(CONTACTS);
	await campaign.setLatency(0);
	return { workflow, at };
}

async function executionsOf(n8n: N8nInstance, workflowId: string): Promise<Execution[]> {
	return n8n.api.listExecutions({ workflowId, includeData: false, limit: 250 });
}

/**
 * The admin's recovery: every execution that did not succeed and was not retried successfully yet
 * (status crashed or error, or still "running" from before the restart) is retried once through
 * the public API (Executions → Retry in the editor). Returns the retries once they finished.
 */
async function retryFailedExecutions(n8n: N8nInstance, workflowId: string): Promise<Execution[]> {
	const failed = (await executionsOf(n8n, workflowId)).filter(
		(e) => ['crashed', 'error'].includes(e.status) && !e.retrySuccessId && e.mode !== 'retry',
	);
	const retries: Execution[] = [];
	for (const execution of failed) {
		const retry = await n8n.api.retryExecution(execution.id);
		retries.push(
			await waitFor(
				`the retry of execution ${execution.id} to finish`,
				async () => {
					const current = await n8n.api.getExecution(retry.id, true);
					return current.stoppedAt ? current : undefined;
				},
				{ timeoutMs: 120_000 },
			),
		);
	}
	return retries;
}

describe('n8n killed (SIGKILL) in the middle of an initial load, then restarted', () => {
	let scenario: Scenario | undefined;

	afterEach(async () => {
		await stopScenario(scenario);
		scenario = undefined;
	}, 60_000);

	it("without durable poll cursors: whether or not n8n saved the cursor before the kill, the restart and the admin's retry converge with nothing lost or duplicated", async () => {
		scenario = await startScenario({});
		const current = scenario;
		await withLogs(
			() => scenario,
			async () => {
				const { dataverse, campaign } = current;
				const { workflow, at } = await killMidInitialLoad(current);
				// A contact created while n8n is down must arrive through the trigger after the restart.
				const [late] = await dataverse.generate('contact', 1, 62);

				const n8n = await startN8nIn(current);
				const crashed = await crashedExecution(n8n, workflow.id);
				const reload = await contactsRunAfter(n8n, workflow.id, crashed.id);
				// Without durable cursors n8n saves the trigger's static data apart from the execution
				// row, so the kill can land before that save (both outcomes were seen here).
				const cursorWasSaved = summaryRun(reload)?.load !== 'initial';
				if (cursorWasSaved) {
					// Saved: the trigger goes on incrementally and the killed run's records wait for
					// the admin's retry, as with durable cursors.
					expect(summaryRun(reload)).toMatchObject({ load: 'incremental' });
				} else {
					// Not saved: the restart reads the whole load again and converges by itself.
					expect(executionSummaries(reload)[CONTACTS_UPSERT]).toMatchObject({
						created: CONTACTS - at + 1,
						failed: 0,
						processed: CONTACTS + 1,
					});
					expect(await compareWithOracle(dataverse, campaign)).toEqual(NOTHING_WRONG);
				}
				expect((await campaign.dump('profile')).records.some((p) => p.externalId === late)).toBe(
					true,
				);

				// The admin's steps are the same in every case: retry what crashed.
				const retries = await retryFailedExecutions(n8n, workflow.id);
				expect(retries.map((r) => [r.retryOf, r.status])).toEqual([[crashed.id, 'success']]);
				expect(executionSummaries(retries[0])[CONTACTS_UPSERT]).toMatchObject({
					created: cursorWasSaved ? CONTACTS - at : 0,
					failed: 0,
					processed: CONTACTS,
				});
				expect(await compareWithOracle(dataverse, campaign)).toEqual(NOTHING_WRONG);
			},
		);
	}, 360_000);

	it('with durable poll cursors: the cursor was committed with the killed execution, so its records stay missing until the admin retries it; then it converges', async () => {
		scenario = await startScenario(DURABLE_CURSORS);
		const current = scenario;
		await withLogs(
			() => scenario,
			async () => {
				const { dataverse, campaign } = current;
				const { workflow, at } = await killMidInitialLoad(current);
				const [late] = await dataverse.generate('contact', 1, 62);

				const n8n = await startN8nIn(current);
				const crashed = await crashedExecution(n8n, workflow.id);
				// The trigger goes on from the committed cursor: the late contact arrives...
				const next = await contactsRunAfter(n8n, workflow.id, crashed.id);
				expect(summaryRun(next)).toMatchObject({ load: 'incremental' });
				expect(executionSummaries(next)[CONTACTS_UPSERT]).toMatchObject({
					created: 1,
					processed: 1,
				});
				const profiles = (await campaign.dump('profile')).records;
				expect(profiles.some((p) => p.externalId === late)).toBe(true);
				// ...but what the killed execution had not written yet is not read again.
				const before = await compareWithOracle(dataverse, campaign);
				expect(countsOf(before)).toEqual({
					missing: CONTACTS - at,
					extra: 0,
					wrong: 0,
					duplicates: 0,
				});

				const retries = await retryFailedExecutions(n8n, workflow.id);
				expect(retries.map((r) => [r.retryOf, r.status])).toEqual([[crashed.id, 'success']]);
				expect(executionSummaries(retries[0])[CONTACTS_UPSERT]).toMatchObject({
					created: CONTACTS - at,
					failed: 0,
					processed: CONTACTS,
				});
				expect(await compareWithOracle(dataverse, campaign)).toEqual(NOTHING_WRONG);
			},
		);
	}, 360_000);
});

const NOTHING_WRONG: Comparison = { missing: [], extra: [], wrong: [], duplicates: [] };

/** After the restart n8n marks the execution it lost as crashed (amended from its event log). */
async function crashedExecution(n8n: N8nInstance, workflowId: string): Promise<Execution> {
	const crashed = await waitFor('the killed execution to be marked crashed', async () =>
		(await executionsOf(n8n, workflowId)).find((e) => e.status !== 'success'),
	);
	expect(crashed.status).toBe('crashed');
	return crashed;
}

/** The first finished trigger execution after `afterId` in which the contacts chain wrote. */
async function contactsRunAfter(
	n8n: N8nInstance,
	workflowId: string,
	afterId: string,
): Promise<Execution> {
	return waitFor(
		'a contacts run after the restart',
		async () => {
			const all = await n8n.api.listExecutions({ workflowId, includeData: true, limit: 50 });
			return all
				.filter((e) => Number(e.id) > Number(afterId) && e.mode === 'trigger' && e.stoppedAt)
				.sort((a, b) => Number(a.id) - Number(b.id))
				.find((e) => executionSummaries(e)[CONTACTS_UPSERT]);
		},
		{ timeoutMs: 150_000, intervalMs: 2000 },
	);
}

function summaryRun(execution: Execution): Row | undefined {
	return executionSummaries(execution)[CONTACTS_UPSERT]?.run as Row | undefined;
}

function countsOf(c: Comparison) {
	return {
		missing: c.missing.length,
		extra: c.extra.length,
		wrong: c.wrong.length,
		duplicates: c.duplicates.length,
	};
}
