/**
 * Campaign Upsert's flow outside n8n: the records, a Campaign client on the sandbox, and the
 * results, summary and learnt concurrency it returns.
 */
import { findByKey, resolveKeyAccess } from '../../lib/campaign/keys';
import { writeToCampaign, type CampaignWriteSettings } from '../../lib/flows/campaign-write';
import type { SyncRecord } from '../../lib/sync/envelope';
import {
	CampaignSandboxAdmin,
	startCampaignSandbox,
	type CampaignSandbox,
} from '../../sandbox/campaign';
import { campaignClientFor, type Wired } from '../../sandbox/harness/clients';
import { contact } from '../unit/sync/helpers';
import type { CampaignClient } from '../../lib/campaign/client';

let sandbox: CampaignSandbox;
let admin: CampaignSandboxAdmin;
let wired: Wired<CampaignClient>;

beforeAll(async () => {
	sandbox = await startCampaignSandbox({ port: 0, seed: 5 });
	admin = new CampaignSandboxAdmin(sandbox.url);
	wired = campaignClientFor(sandbox);
});

afterAll(async () => {
	wired?.close();
	await sandbox?.close();
});

beforeEach(async () => {
	await admin.reset({ seed: 5 });
});

/** A contact mapped to a profile keyed by externalId. */
function mapped(id: string, lastName: string, keyFilter?: string): SyncRecord {
	const target = { resource: 'profile', key: 'externalId', dynamicsKey: 'contactid', keyFilter };
	const record = contact({ externalId: id, lastName }, { id, target, updateFields: ['lastName'] });
	// After the mapping a record holds Campaign's fields only.
	delete record.contactid;
	return record;
}

const connect = async () => wired.client;
const fixed: CampaignWriteSettings = { concurrency: 4, adapt: false };

describe('the Campaign write flow', () => {
	it('gives each record and stray its result in input order, with the summary and its items', async () => {
		const input = {
			records: [
				{ record: mapped('c-1', 'Ana'), index: 0 },
				{ record: mapped('c-2', 'Bo'), index: 2 },
			],
			strays: [{ message: 'An item has no "_sync" part', index: 1 }],
			runs: [{ report: { backlog: 7, table: 'contact' }, index: 3 }],
		};
		const written = await writeToCampaign(connect, input, fixed, undefined);

		expect(written.results.map((r) => [r.index, r.result.outcome])).toEqual([
			[0, 'created'],
			[1, 'failed'],
			[2, 'created'],
		]);
		expect(written.results[1].result.error).toBe('An item has no "_sync" part');
		expect(written.summary).toMatchObject({
			created: 2,
			failed: 1,
			processed: 3,
			backlog: 7,
			concurrency: 4,
			run: { backlog: 7, table: 'contact' },
		});
		expect(written.summary.throttled).toBeUndefined();
		expect(written.summaryItems).toEqual([3]);
		expect(written.learnt).toBeUndefined();

		const access = await resolveKeyAccess(
			wired.client,
			'profileAndServicesExt/profile',
			'externalId',
		);
		const [found] = await findByKey(wired.client, access, 'c-2');
		expect(found?.lastName).toBe('Bo');
	});

	it('returns the concurrency it learnt when adapting, for the next run to start from', async () => {
		const input = { records: [{ record: mapped('c-3', 'Cy'), index: 0 }], strays: [], runs: [] };
		const first = await writeToCampaign(
			connect,
			input,
			{ concurrency: 20, adapt: true },
			undefined,
		);
		expect(first.learnt).toBeDefined();
		expect(first.summaryItems).toEqual([0]);
		const second = await writeToCampaign(
			connect,
			{ ...input, records: [{ record: mapped('c-3', 'Cyd'), index: 0 }] },
			{ concurrency: 20, adapt: true },
			first.learnt,
		);
		expect(second.results[0].result.outcome).toBe('updated');
		expect(second.summary.concurrency).toBeLessThanOrEqual(20);
	});

	it('throws a settings problem before writing any record', async () => {
		const input = {
			records: [
				{ record: mapped('c-4', 'Di'), index: 0 },
				{ record: mapped('c-5', 'Ed', 'noSuchFilter'), index: 1 },
			],
			strays: [],
			runs: [],
		};
		await expect(writeToCampaign(connect, input, fixed, undefined)).rejects.toThrow(
			/has no filter "noSuchFilter"/,
		);
		const access = await resolveKeyAccess(
			wired.client,
			'profileAndServicesExt/profile',
			'externalId',
		);
		expect(await findByKey(wired.client, access, 'c-4')).toEqual([]);
	});
});
