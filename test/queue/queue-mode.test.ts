/**
 * Queue mode end to end: PostgreSQL, Redis, n8n main and two workers, the Dynamics → Campaign
 * template published unchanged through the public API (contacts trigger every minute, 5,000
 * records per run). An initial load of 20,000 contacts becomes four executions: the first starts
 * on publish, the others on the next minute polls. One worker is killed (SIGKILL) while it runs an
 * execution of the load; n8n does not hand the abandoned job to the other worker (its Bull queue
 * allows no stalled-job rerun) and the execution ends failed with its input gone, while the
 * durable cursor has already moved past those records. The documented recovery (Replay Data, then
 * unpublish/publish) must bring the result to the single-process result: every contact exactly
 * once, current values. Edits and deletes made afterwards then reach Campaign on the next poll.
 */
import { startSandbox, type Sandboxes } from '../../sandbox/index';
import { DataverseSandboxAdmin } from '../../sandbox/dataverse/admin';
import { CampaignSandboxAdmin } from '../../sandbox/campaign/admin';
import type { Execution } from '../../sandbox/n8n/api';
import { installRuntime } from '../../sandbox/n8n/install-runtime';
import {
	startQueueCluster,
	type QueueCluster,
	type QueueWorker,
} from '../../sandbox/queue/cluster';
import { createSandboxCredentials, loadWorkflow } from '../../sandbox/queue/workload';
import { withNodeParameters } from '../../sandbox/n8n/templates';
import { progress, waitFor } from '../support/n8n';

const CONTACTS = 20_000;
const PER_RUN = 5_000;
const CONTACTS_TRIGGER = 'Contacts: Dynamics 365 Trigger';
const GENDER: Record<number, string> = { 1: 'male', 2: 'female' };

type Row = Record<string, unknown>;

let sandbox: Sandboxes | undefined;
let cluster: QueueCluster | undefined;
let dataverse: DataverseSandboxAdmin;
let campaign: CampaignSandboxAdmin;
let workflowId = '';

function must(): QueueCluster {
	if (!cluster) throw new Error('the queue cluster did not start (see the beforeAll error)');
	return cluster;
}

/** What Campaign must hold for a contact, computed here independently of the nodes. */
function expectedProfile(contact: Row): Row {
	return {
		firstName: contact.firstname,
		lastName: contact.lastname,
		email: contact.emailaddress1,
		gender: contact.gendercode ? GENDER[contact.gendercode as number] : undefined,
	};
}

/** Unset values read back as "", null, absent or the enumeration's "unknown": all mean none. */
function noValue(value: unknown): unknown {
	return value === undefined || value === null || value === '' || value === 'unknown' ? '' : value;
}

async function profiles(): Promise<Row[]> {
	return (await campaign.dump('profile')).records;
}

async function executionsOfWorkflow(): Promise<Execution[]> {
	return must().main.api.listExecutions({ workflowId, includeData: false, limit: 250 });
}

/** Every contact has exactly one profile with its current values, and no other profile exists. */
async function expectConverged(): Promise<void> {
	const contacts = (await dataverse.dump('contact')).records;
	const stored = await profiles();
	const byKey = new Map<string, Row[]>();
	for (const p of stored) {
		const key = String(p.externalId);
		byKey.set(key, [...(byKey.get(key) ?? []), p]);
	}
	const duplicated = [...byKey].filter(([, list]) => list.length > 1).map(([key]) => key);
	expect(duplicated).toEqual([]);
	const missing = contacts.filter((c) => !byKey.has(String(c.contactid)));
	expect(missing.map((c) => c.contactid)).toEqual([]);
	expect(stored.length).toBe(contacts.length);
	const wrong = contacts.filter((c) => {
		const [p] = byKey.get(String(c.contactid)) ?? [];
		return Object.entries(expectedProfile(c)).some(
			([field, value]) => noValue(p?.[field]) !== noValue(value),
		);
	});
	expect(wrong.map((c) => c.contactid)).toEqual([]);
}

function ranBy(worker: QueueWorker): string[] {
	return [...must().executionOwners()].filter(([, name]) => name === worker.name).map(([id]) => id);
}

beforeAll(async () => {
	await installRuntime({ log: progress });
	sandbox = await startSandbox({ dataverse: { port: 0, demoRecords: 0 }, campaign: { port: 0 } });
	dataverse = new DataverseSandboxAdmin(sandbox.dataverse.url);
	campaign = new CampaignSandboxAdmin(sandbox.campaign.url);
	await campaign.reset({ profiles: 0 });
	await dataverse.generate('contact', CONTACTS, 77);
	cluster = await startQueueCluster({ workers: 2, log: progress });
	const { api } = cluster.main;
	const workflow = loadWorkflow(await createSandboxCredentials(api, sandbox));
	const contactsTrigger = workflow.nodes.find((n) => n.name === CONTACTS_TRIGGER);
	// The template itself is under test: its run size is what makes the load four executions.
	expect(contactsTrigger?.parameters.options).toMatchObject({ maxRecordsPerRun: PER_RUN });
	workflowId = (await api.createWorkflow(workflow)).id;
}, 10 * 60_000);

afterAll(async () => {
	await cluster?.stop();
	await sandbox?.close();
}, 120_000);

describe('Queue mode (PostgreSQL + Redis + 2 workers), Dynamics → Campaign template', () => {
	let victim: QueueWorker;
	let survivor: QueueWorker;

	it(
		'loads 20,000 contacts across both workers; a worker killed mid-load loses and duplicates nothing after a Replay Data recovery',
		async () => {
			const c = must();
			const { api } = c.main;
			await api.publishWorkflow(workflowId);

			// Publishing polls at once: the first 5,000 contacts go to whichever worker takes the job.
			// Crash that worker once it has written part of them.
			const [found, killedId] = await waitFor(
				'a worker running an execution of the load that has written profiles',
				async () => {
					const busy = c.workers.find((w) => w.runningExecutions().length > 0);
					if (!busy || (await profiles()).length === 0) return undefined;
					const running = busy.runningExecutions();
					return running.length ? ([busy, running[0]] as const) : undefined;
				},
				{ timeoutMs: 120_000, intervalMs: 200 },
			);
			victim = found;
			survivor = c.workers.find((w) => w !== victim) as QueueWorker;
			await victim.kill();
			const atKill = (await profiles()).length;
			progress(`[test] killed ${victim.name} running execution ${killedId}; ${atKill} profiles`);
			expect(atKill).toBeLessThan(PER_RUN);

			// The survivor takes the next minute polls (15,000 contacts). The abandoned job is not run
			// again: n8n's Bull queue allows no stalled-job rerun, so once its lock expires the
			// execution fails ("failed to be processed too many times") or, if main notices first,
			// is marked crashed.
			await waitFor(
				'the rest of the load done and the killed execution ended',
				async () => {
					const killed = await api.getExecution(killedId, false);
					const all = await executionsOfWorkflow();
					return (
						(killed.status === 'crashed' || killed.status === 'error') &&
						all.every((e) => e.status !== 'running' && e.status !== 'new') &&
						(await profiles()).length >= CONTACTS - PER_RUN
					);
				},
				{ timeoutMs: 5 * 60_000, intervalMs: 2000 },
			);
			const beforeReplay = (await profiles()).length;
			progress(`[test] load done without the killed execution: ${beforeReplay} profiles`);
			// The durable cursor committed with the killed execution, and n8n replaced that execution's
			// data with the error: neither a later poll nor a retry brings its records back.
			expect(beforeReplay).toBeLessThan(CONTACTS);
			expect(beforeReplay).toBeGreaterThanOrEqual(CONTACTS - PER_RUN);
			expect(ranBy(survivor).length).toBeGreaterThanOrEqual(3);
			expect(c.executionOwners().size).toBeGreaterThanOrEqual(4);

			// Admin recovery as documented for the trigger: a new Replay Data value, unpublish,
			// publish. The replay runs on the survivor; upserts make the records already there no-ops.
			const current = await api.getWorkflow(workflowId);
			const since = new Date();
			await api.unpublishWorkflow(workflowId);
			await api.updateWorkflow(
				workflowId,
				withNodeParameters(
					{
						name: current.name,
						nodes: current.nodes,
						connections: current.connections,
						settings: { executionOrder: 'v1' },
					},
					CONTACTS_TRIGGER,
					{ replayData: `worker crash ${since.toISOString()}` },
				),
			);
			await api.publishWorkflow(workflowId);
			await waitFor(
				'the replay wrote every contact',
				async () => (await profiles()).length === CONTACTS,
				{ timeoutMs: 5 * 60_000, intervalMs: 2000 },
			);
			await waitFor(
				'the replay executions finished',
				async () =>
					(await executionsOfWorkflow()).every((e) => e.status !== 'running' && e.status !== 'new'),
				{ timeoutMs: 120_000, intervalMs: 2000 },
			);
			await expectConverged();

			const failed = (await executionsOfWorkflow()).filter(
				(e) => e.id !== killedId && e.status !== 'success',
			);
			expect(failed.map((e) => `${e.id}:${e.status}`)).toEqual([]);
			// Anything else the killed worker ran before the crash finished normally.
			expect(ranBy(victim)).toContain(killedId);
		},
		9 * 60_000,
	);

	it(
		'propagates edits and deletes made in Dynamics 365 after the load, with a replacement worker',
		async () => {
			const c = must();
			const replacement = await c.addWorker();
			const contacts = (await dataverse.dump('contact')).records;
			const edited = contacts.slice(0, 50).map((r) => String(r.contactid));
			const deleted = contacts.slice(50, 80).map((r) => String(r.contactid));
			for (const id of edited) {
				await dataverse.editRecord('contact', id, { firstname: 'Ærøskøbing', gendercode: 2 });
			}
			for (const id of deleted) await dataverse.deleteRecord('contact', id);

			await waitFor(
				'edits and deletes reached Campaign',
				async () => {
					const byKey = new Map((await profiles()).map((p) => [String(p.externalId), p]));
					return (
						deleted.every((id) => !byKey.has(id)) &&
						edited.every(
							(id) =>
								byKey.get(id)?.firstName === 'Ærøskøbing' && byKey.get(id)?.gender === 'female',
						)
					);
				},
				{ timeoutMs: 4 * 60_000, intervalMs: 2000 },
			);
			await expectConverged();
			expect((await profiles()).length).toBe(CONTACTS - deleted.length);
			expect(replacement.exited()).toBe(false);
			expect(survivor.exited()).toBe(false);
		},
		5 * 60_000,
	);
});
