/**
 * Service-side surprises and security: what the sync does when the services change under it, and
 * proof that secrets never reach execution data, errors or logs, and that filter values cannot
 * change a query.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import type { IDataObject } from 'n8n-workflow';

import { CampaignClient } from '../../lib/campaign/client';
import { DataverseClient } from '../../lib/dynamics/client';
import { startNodeFixture, type NodeFixture } from '../nodes/fixture';
import type { ExecutionResult, TestWorkflow } from '../../sandbox/harness/engine';
import { eq } from '../../lib/dynamics/odata';
import { axiosTransport } from '../../sandbox/harness/axios-transport';
import {
	campaignTokens,
	dynamicsTokens,
	sandboxCampaignSettings,
	sandboxDynamicsSettings,
} from '../../sandbox/harness/tokens';
import { leakedSecrets, loadTemplate, safeStringify, useFastRetries } from './support';

const TRIGGER = 'Contacts: Dynamics 365 Trigger';
const UPSERT = 'Contacts: Campaign Upsert';

describe('Reliability: service-side surprises', () => {
	let fx: NodeFixture;
	let restoreRetries: () => void;
	/** Everything the executions of this file produced, scanned for secrets at the end. */
	const executions: ExecutionResult[] = [];
	const errorsSeen: unknown[] = [];

	beforeAll(async () => {
		restoreRetries = useFastRetries();
		fx = await startNodeFixture({ dataverse: { demoRecords: 0 } });
	});
	afterAll(async () => {
		restoreRetries();
		await fx.close();
	});
	beforeEach(async () => {
		await fx.dataverse.reset({ demoRecords: 0 });
		await fx.campaign.reset();
	});

	async function runOnce(wf: TestWorkflow): Promise<ExecutionResult | null> {
		try {
			const result = await wf.pollAndRun(TRIGGER);
			if (result) executions.push(result);
			return result;
		} catch (error) {
			errorsSeen.push(error);
			throw error;
		}
	}

	async function untilQuiet(wf: TestWorkflow) {
		for (let i = 0; i < 10; i++) if (!(await runOnce(wf))) return;
		throw new Error('still changing after 10 runs');
	}

	async function profiles() {
		return (await fx.campaign.dump('profile')).records as IDataObject[];
	}

	async function synced(count: number) {
		const ids = await fx.dataverse.generate('contact', count, 8);
		const wf = fx.workflow(loadTemplate('dynamics-to-campaign'));
		await untilQuiet(wf);
		expect(await profiles()).toHaveLength(count);
		return { ids, wf };
	}

	/** Deletes a column of the contact table in Dynamics, as an admin publishing a change would. */
	async function deleteContactColumn(column: string) {
		const { tables } = await fx.dataverse.tables();
		const contact = tables.find((t) => t.logicalName === 'contact')!;
		await fx.dataverse.defineTables([
			{ ...contact, columns: contact.columns.filter((c) => c.logicalName !== column) },
		]);
	}

	/**
	 * The user's edit after a column was deleted: out of the trigger's Columns and of the mapping,
	 * each remaining mapping row passed through `change`.
	 */
	function unmapColumn(
		wf: TestWorkflow,
		column: string,
		change: (row: Record<string, string | boolean>) => Record<string, string | boolean> = (r) => r,
	) {
		const template = loadTemplate('dynamics-to-campaign');
		const node = (name: string) => template.nodes.find((n) => n.name === name)!;
		const columns = (node(TRIGGER).parameters.columns as string[]).filter((c) => c !== column);
		const mapping = (
			node('Contacts: Apply Field Mapping').parameters.fieldMappings as {
				mapping: Array<Record<string, string | boolean>>;
			}
		).mapping
			.filter((m) => m.dynamicsField !== column)
			.map(change);
		wf.setParameters(TRIGGER, { columns });
		wf.setParameters('Contacts: Apply Field Mapping', { fieldMappings: { mapping } });
	}

	/** The message of the error a poll stops with ('' when it does not). */
	function refusalOf(wf: TestWorkflow): Promise<string> {
		return runOnce(wf).then(
			() => '',
			(error: Error) => error.message,
		);
	}

	it('re-reads every record when the delta token expired, and Campaign ends unchanged but complete', async () => {
		const { ids, wf } = await synced(30);
		await fx.dataverse.editRecord('contact', ids[0], { firstname: 'After expiry' });
		await fx.dataverse.expireChangeTracking('contact');
		const result = await runOnce(wf);
		const summary = result!.output(UPSERT).at(-1)!._summary as IDataObject;
		expect(summary).toMatchObject({ failed: 0 });
		expect(String((summary.run as IDataObject).notice)).toMatch(/change tracking token expired/);
		await untilQuiet(wf);
		const all = await profiles();
		expect(all).toHaveLength(30);
		expect(all.find((p) => p.externalId === ids[0])?.firstName).toBe('After expiry');
	});

	it('gets a new access token when the tokens are revoked mid-run, and loses nothing', async () => {
		const { ids, wf } = await synced(10);
		for (const id of ids.slice(0, 5))
			await fx.dataverse.editRecord('contact', id, { lastname: 'Neu' });
		await fx.dataverse.expireTokens();
		await fx.campaign.expireTokens();
		await untilQuiet(wf);
		const all = await profiles();
		expect(all.filter((p) => p.lastName === 'Neu')).toHaveLength(5);
		expect(fx.credentials.preAuthenticationRuns.get('adobeCampaignStandardApi')).toBeGreaterThan(1);
	});

	it('recreates a Campaign record deleted by someone else when its contact is updated', async () => {
		const { ids, wf } = await synced(5);
		const victim = (await profiles()).find((p) => p.externalId === ids[2])!;
		await fx.campaign.remove('profile', String(victim.PKey));
		await fx.dataverse.editRecord('contact', ids[2], { firstname: 'Back again' });
		const result = await runOnce(wf);
		const outcome = result!.output(UPSERT).find((r) => r.id === ids[2]);
		expect(outcome?.outcome).toBe('created');
		const again = (await profiles()).filter((p) => p.externalId === ids[2]);
		expect(again).toHaveLength(1);
		expect(again[0].firstName).toBe('Back again');
	});

	it('fails the execution on a record whose key is duplicated in Campaign, naming it, after writing the others', async () => {
		const { ids, wf } = await synced(6);
		await fx.campaign.insert('profile', [{ externalId: ids[1], email: 'twin@example.com' }], {
			bypassUnique: true,
		} as never);
		await fx.dataverse.editRecord('contact', ids[1], { firstname: 'Twin' });
		await fx.dataverse.editRecord('contact', ids[3], { firstname: 'Single' });
		const result = (await runOnce(wf))!;
		// The template keeps n8n's default On Error: the execution fails, naming the record.
		expect(result.status).toBe('error');
		const error = result.nodes[UPSERT].error as Error & { description?: string };
		expect(error.message).toMatch(/^1 of 2 record\(s\) could not be written/);
		expect(error.description).toContain(ids[1]);
		expect(error.description).toMatch(/duplicate|more than one|2 profile records/i);
		const all = await profiles();
		expect(all.filter((p) => p.externalId === ids[1]).map((p) => p.firstName)).not.toContain(
			'Twin',
		);
		expect(all.find((p) => p.externalId === ids[3])?.firstName).toBe('Single');
	});

	it('stops with a clear error naming the column when a mapped Dynamics column was removed, writing nothing', async () => {
		const { ids, wf } = await synced(4);
		await deleteContactColumn('emailaddress1');
		await fx.dataverse.editRecord('contact', ids[0], { firstname: 'Should not arrive' });
		const before = await profiles();
		let message = '';
		try {
			const result = await runOnce(wf);
			const nodeErrors = Object.values(result?.nodes ?? {}).map((n) => n.error?.message ?? '');
			message = [result?.error?.message ?? '', ...nodeErrors].join('\n');
		} catch (error) {
			message = (error as Error).message;
		}
		expect(message).toMatch(/"emailaddress1" is not a column of Dynamics table "contact"/);
		expect(await profiles()).toEqual(before);

		// The user takes the column out of the trigger's Columns and of the mapping. The
		// change-tracking position was made reading it, and Dataverse refuses it for good: the
		// trigger says so and how to go on, and still writes nothing.
		unmapColumn(wf, 'emailaddress1');
		const refused = await refusalOf(wf);
		expect(refused).toMatch(
			/change-tracking position reads "emailaddress1", which Dynamics table "contact" no longer has/,
		);
		expect(await profiles()).toEqual(before);

		// Replay Data, as the message says: every contact is read again without the column, and
		// the change made meanwhile arrives.
		wf.setParameters(TRIGGER, { replayData: 'after emailaddress1 was deleted' });
		const replayed = await runOnce(wf);
		// the refused link cannot be read for deletes: the run says so
		expect(JSON.stringify(replayed?.output(TRIGGER))).toMatch(
			/records deleted since that run are not seen by this replay/,
		);
		await untilQuiet(wf);
		const after = await profiles();
		expect(after).toHaveLength(before.length);
		expect(after.find((p) => p.externalId === ids[0])?.firstName).toBe('Should not arrive');
	});

	it('names the deleted column of a refused change-tracking position even when a column was added in the same edit', async () => {
		const { wf } = await synced(3);
		await deleteContactColumn('emailaddress1');
		// One edit: the deleted column out of Columns and the mapping, the phone mapped instead of
		// the last name (a column added, which alone re-reads every contact).
		unmapColumn(wf, 'emailaddress1', (m) =>
			m.dynamicsField === 'lastname' ? { ...m, dynamicsField: 'telephone1' } : m,
		);
		const before = await profiles();
		expect(await refusalOf(wf)).toMatch(/change-tracking position reads "emailaddress1"/);
		expect(await profiles()).toEqual(before);
	});

	describe('Security', () => {
		it('never puts a client secret or an issued access token into execution data or errors', async () => {
			const { wf } = await synced(5);
			// a failing run too: wrong secret in the Campaign credential
			const stored = fx.credentials.getStored('adobeCampaignStandardApi')!;
			const dynamics = fx.credentials.getStored('dynamics365Api')!;
			const tokens = [stored.accessToken, dynamics.accessToken].filter(
				(t): t is string => typeof t === 'string' && t.length > 0,
			);
			expect(tokens.length).toBe(2);
			const wrong = 'wrong-secret-value-123456';
			fx.credentials.setCredentials('adobeCampaignStandardApi', {
				...stored,
				clientSecret: wrong,
				accessToken: '',
			});
			// what nodes, n8n-core and the credentials print goes to the console: capture it as the log
			const logged: unknown[] = [];
			const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
				jest.spyOn(console, level).mockImplementation((...args) => void logged.push(args)),
			);
			try {
				const ids = (await fx.dataverse.dump('contact')).records.map((c) => String(c.contactid));
				await fx.dataverse.editRecord('contact', ids[0], { firstname: 'x' });
				await fx.campaign.expireTokens();
				await runOnce(wf).catch(() => undefined);
			} finally {
				fx.credentials.setCredentials('adobeCampaignStandardApi', stored);
				spies.forEach((spy) => spy.mockRestore());
			}
			expect(executions.length).toBeGreaterThan(0);
			const text = safeStringify({
				executions: executions.map((e) => e.run),
				errorsSeen,
				logged,
			});
			expect(text).toMatch(/access token|Client Secret/);
			expect(leakedSecrets(text, [...tokens, wrong])).toEqual([]);
		});

		it('keeps OData filter values from changing a Dataverse query', async () => {
			const url = fx.sandboxes.dataverse.url;
			const transport = axiosTransport({ auth: dynamicsTokens(sandboxDynamicsSettings(url)) });
			const client = new DataverseClient({ transport, environmentUrl: url });
			const collect = (lastname: string) =>
				client.query('contact', { select: ['lastname'], filter: eq('lastname', lastname) });
			await fx.dataverse.seed('contact', [
				{ lastname: "O'Brien" },
				{ lastname: 'Smith' },
				{ lastname: "x' or lastname ne 'y" },
			]);
			const attempts = ["x' or lastname ne 'y", "' or 1 eq 1 or '", "Smith') or (true", '*'];
			for (const value of attempts) {
				const rows = await collect(value);
				// only exact matches, never everything
				expect(rows.every((r) => r.lastname === value)).toBe(true);
			}
			expect(await collect("x' or lastname ne 'y")).toHaveLength(1);
			expect(await collect("O'Brien")).toHaveLength(1);
			transport.close();
		});

		it('keeps Campaign filter values from changing a Campaign query', async () => {
			await fx.campaign.insert('profile', [
				{ externalId: 'a&externalId_parameter=b', email: 'a@example.com' },
				{ externalId: 'b', email: 'b@example.com' },
			]);
			const url = fx.sandboxes.campaign.url;
			const transport = axiosTransport({ auth: campaignTokens(sandboxCampaignSettings(url)) });
			const client = new CampaignClient({ transport, apiBaseUrl: `${url}/sandbox-org/campaign` });
			const found = await client.findByFilter('profileAndServicesExt/profile', 'byExternalId', {
				externalId_parameter: 'a&externalId_parameter=b',
			});
			expect(found.map((p) => p.externalId)).toEqual(['a&externalId_parameter=b']);
			const none = await client.findByFilter('profileAndServicesExt/profile', 'byExternalId', {
				externalId_parameter: "' OR 1=1 --",
			});
			expect(none).toEqual([]);
			transport.close();
		});

		it('listens on loopback only', () => {
			for (const sandbox of [fx.sandboxes.dataverse, fx.sandboxes.campaign]) {
				// the bound socket itself, not just the URL we print
				expect(sandbox.server.address()?.address).toBe('127.0.0.1');
				expect(new URL(sandbox.url).hostname).toBe('127.0.0.1');
			}
		});

		it('ships no runtime dependencies (so `npm audit --omit=dev` has nothing to report)', () => {
			const pkg = JSON.parse(
				fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8'),
			) as IDataObject;
			expect(pkg.dependencies ?? {}).toEqual({});
			expect(Object.keys((pkg.peerDependencies as IDataObject) ?? {})).toEqual(['n8n-workflow']);
		});

		it('has nothing for `npm audit --omit=dev` to report', () => {
			const out = execFileSync('npm', ['audit', '--omit=dev', '--json'], {
				cwd: path.join(__dirname, '../..'),
				encoding: 'utf8',
				timeout: 120_000,
			});
			const report = JSON.parse(out) as { metadata: { vulnerabilities: { total: number } } };
			expect(report.metadata.vulnerabilities.total).toBe(0);
		}, 150_000);
	});
});
