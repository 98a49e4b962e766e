/**
 * The clients' metadata cache across clients (one client per run in n8n): what a later client
 * reads again, and which answers of the services drop what an earlier one read.
 */
import { CampaignApiError } from '../../lib/campaign/client';
import { resolveKeyAccess } from '../../lib/campaign/keys';
import { DataverseApiError } from '../../lib/dynamics/errors';
import { MetadataCache } from '../../lib/http/cache';
import {
	CampaignSandboxAdmin,
	startCampaignSandbox,
	type CampaignSandbox,
} from '../../sandbox/campaign';
import {
	DataverseSandboxAdmin,
	startDataverseSandbox,
	type DataverseSandbox,
} from '../../sandbox/dataverse';
import { campaignClientFor, dataverseClientFor, type Wired } from '../../sandbox/harness/clients';

const PROFILE = 'profileAndServicesExt/profile';

function requests(counters: Record<string, number>, match: RegExp): number {
	return Object.entries(counters)
		.filter(([route]) => match.test(route))
		.reduce((sum, [, n]) => sum + n, 0);
}

describe('Metadata cache of the clients', () => {
	let dataverse: DataverseSandbox;
	let campaign: CampaignSandbox;
	let dvAdmin: DataverseSandboxAdmin;
	let cpAdmin: CampaignSandboxAdmin;
	const opened: Array<Wired<unknown>> = [];

	beforeAll(async () => {
		dataverse = await startDataverseSandbox({ port: 0, seed: 3, demoRecords: 0 });
		campaign = await startCampaignSandbox({ port: 0, seed: 3 });
		dvAdmin = new DataverseSandboxAdmin(dataverse.url);
		cpAdmin = new CampaignSandboxAdmin(campaign.url);
	});

	afterAll(async () => {
		opened.forEach((w) => w.close());
		await dataverse?.close();
		await campaign?.close();
	});

	beforeEach(async () => {
		await dvAdmin.reset({ demoRecords: 0 });
		await cpAdmin.reset({ profiles: 0 });
	});

	/** A client as a run gets it: new, sharing the process's cache. */
	function dataverseRun(cache: MetadataCache) {
		const wired = dataverseClientFor(dataverse, { metadataCache: cache });
		opened.push(wired);
		return wired.client;
	}

	function campaignRun(cache: MetadataCache) {
		const wired = campaignClientFor(campaign, { metadataCache: cache });
		opened.push(wired);
		return wired.client;
	}

	describe('Dataverse', () => {
		it('serves a later client what an earlier one read, and reads again once an answer names an unknown property', async () => {
			const cache = new MetadataCache({ ttlMs: 60_000 });
			await dataverseRun(cache).getColumns('contact');
			await dvAdmin.resetCounters();
			const later = dataverseRun(cache);
			expect((await later.getColumns('contact')).map((c) => c.logicalName)).toContain('firstname');
			expect(requests(await dvAdmin.counters(), /EntityDefinitions/)).toBe(0);

			const { tables } = await dvAdmin.tables();
			const contact = tables.find((t) => t.logicalName === 'contact')!;
			await dvAdmin.defineTables([
				{ ...contact, columns: contact.columns.filter((c) => c.logicalName !== 'firstname') },
			]);
			const failed = await later.query('contact', { select: ['firstname'] }).catch((e) => e);
			expect(failed).toBeInstanceOf(DataverseApiError);
			const next = dataverseRun(cache);
			expect((await next.getColumns('contact')).map((c) => c.logicalName)).not.toContain(
				'firstname',
			);
			expect(requests(await dvAdmin.counters(), /EntityDefinitions/)).toBeGreaterThan(0);
		});

		it('reads a table again once Dataverse says its change tracking is off', async () => {
			const cache = new MetadataCache({ ttlMs: 60_000 });
			expect((await dataverseRun(cache).getTable('contact')).changeTrackingEnabled).toBe(true);
			const { tables } = await dvAdmin.tables();
			const contact = tables.find((t) => t.logicalName === 'contact')!;
			await dvAdmin.defineTables([{ ...contact, changeTrackingEnabled: false }]);
			const later = dataverseRun(cache);
			await expect(later.trackChanges('contact').next()).rejects.toBeInstanceOf(DataverseApiError);
			expect((await dataverseRun(cache).getTable('contact')).changeTrackingEnabled).toBe(false);
		});
	});

	describe('Campaign', () => {
		it('serves a later client the resource and its filters, and reads them again once a write names a field they lack', async () => {
			const cache = new MetadataCache({ ttlMs: 60_000 });
			await campaignRun(cache).filters(await campaignRun(cache).resourceType(PROFILE));
			await cpAdmin.resetCounters();
			const later = campaignRun(cache);
			const type = await later.resourceType(PROFILE);
			await later.filters(type);
			expect(requests(await cpAdmin.counters(), /metadata|filters/)).toBe(0);

			const failed = await later.create(PROFILE, { noSuchField: 1 }).catch((e) => e);
			expect(failed).toBeInstanceOf(CampaignApiError);
			await campaignRun(cache).resourceType(PROFILE);
			expect(requests(await cpAdmin.counters(), /metadata/)).toBe(1);
		});

		it('keeps the key filter check only once it was made on a record', async () => {
			const cache = new MetadataCache({ ttlMs: 60_000 });
			await resolveKeyAccess(campaignRun(cache), PROFILE, 'externalId', { verify: true });
			await cpAdmin.insert('profile', [{ externalId: 'x-1', email: 'x@example.com' }]);
			await cpAdmin.resetCounters();
			await resolveKeyAccess(campaignRun(cache), PROFILE, 'externalId', { verify: true });
			// The empty table held nothing to check: the check is made now, on x-1.
			expect(requests(await cpAdmin.counters(), /list/)).toBe(2);
			await cpAdmin.resetCounters();
			await resolveKeyAccess(campaignRun(cache), PROFILE, 'externalId', { verify: true });
			expect(requests(await cpAdmin.counters(), /./)).toBe(0);
		});
	});
});
