import { CampaignApiError, CampaignClient, type CampaignRecord } from '../../lib/campaign/client';
import {
	BEGINNING,
	readEventsAfter,
	resolveEventSource,
	type EventPosition,
} from '../../lib/campaign/events';
import { findByKey, resolveKeyAccess } from '../../lib/campaign/keys';
import { resolveOptOutFields } from '../../lib/campaign/optout-fields';
import { withRetry } from '../../lib/http/retry';
import {
	CampaignSandboxAdmin,
	startCampaignSandbox,
	type CampaignSandbox,
} from '../../sandbox/campaign';
import { axiosTransport } from '../../sandbox/harness/axios-transport';
import { campaignTokens, sandboxCampaignSettings } from '../../sandbox/harness/tokens';
import { campaignClientFor, type Wired } from '../../sandbox/harness/clients';

let sandbox: CampaignSandbox;
let admin: CampaignSandboxAdmin;
let client: CampaignClient;
let wired: Wired<CampaignClient>;

const PROFILE = 'profileAndServicesExt/profile';

beforeAll(async () => {
	sandbox = await startCampaignSandbox({ port: 0, seed: 11 });
	admin = new CampaignSandboxAdmin(sandbox.url);
	wired = campaignClientFor(sandbox);
	client = wired.client;
});

afterAll(async () => {
	wired?.close();
	await sandbox?.close();
});

beforeEach(async () => {
	await admin.reset({ seed: 11 });
});

describe('Campaign resources', () => {
	it('lists profiles page by page following next.href', async () => {
		await admin.generateProfiles({ count: 23 });
		const pages: CampaignRecord[][] = [];
		for await (const page of client.listPages(PROFILE, { lineCount: 10 })) {
			pages.push(page.records);
		}
		expect(pages.map((p) => p.length)).toEqual([10, 10, 3]);
		const keys = pages.flat().map((r) => r.PKey);
		expect(new Set(keys).size).toBe(23);
	});

	it('reads every page of a table above the big-table threshold (_forcePagination=true)', async () => {
		await admin.generateProfiles({ count: 23 });
		await admin.setOptions({ bigTableThreshold: 5 });
		let read = 0;
		for await (const page of client.listPages(PROFILE, { lineCount: 10 })) {
			read += page.records.length;
		}
		expect(read).toBe(23);
	});

	it('orders a list by a field', async () => {
		await admin.insert('profile', [
			{ email: 'b@example.com', lastName: 'B' },
			{ email: 'a@example.com', lastName: 'A' },
			{ email: 'c@example.com', lastName: 'C' },
		]);
		const names: unknown[] = [];
		for await (const page of client.listPages(PROFILE, {
			lineCount: 2,
			order: { field: 'lastName', descending: true },
		})) {
			names.push(...page.records.map((r) => r.lastName));
		}
		expect(names).toEqual(['C', 'B', 'A']);
	});

	it('finds every record holding a key through the filter named after it, so duplicates are seen', async () => {
		await admin.insert('profile', [
			{ email: 'x1@example.com', externalId: "o'neil & co?" },
			{ email: 'x2@example.com', externalId: "o'neil & co?" },
			{ email: 'x3@example.com', externalId: 'other' },
		]);
		const access = await resolveKeyAccess(client, PROFILE, 'externalId');
		// A custom filter: its parameter name is Campaign's, read from the filter's data template.
		expect(access.filter.name).toBe('byExternalId');
		expect(access.parameter).toBe('externalId_parameter');
		const found = await findByKey(client, access, "o'neil & co?");
		expect(found.map((r) => r.email).sort()).toEqual(['x1@example.com', 'x2@example.com']);
		expect(await findByKey(client, access, 'none')).toEqual([]);
	});

	it('refuses a key filter that does not find records by the key, before anything is written', async () => {
		await admin.insert('profile', [{ email: 'k@example.com', externalId: 'k-1' }]);
		await expect(
			resolveKeyAccess(client, PROFILE, 'externalId', { filter: 'byEmail', verify: true }),
		).rejects.toThrow(/"byEmail" does not find "profile" records by externalId/);
		await expect(
			resolveKeyAccess(client, PROFILE, 'externalId', { filter: 'byExternalId', verify: true }),
		).resolves.toMatchObject({ parameter: 'externalId_parameter' });
	});

	it('creates, reads, patches and deletes a record by its PKey href', async () => {
		const created = await client.create(PROFILE, {
			email: 'ana@example.com',
			firstName: 'Ana',
			externalId: 'c-1',
		});
		expect(created.PKey).toMatch(/^@/);
		expect(created.href).toBe(client.recordHref(PROFILE, created.PKey!));

		const read = await client.get(client.recordHref(PROFILE, created.PKey!));
		expect(read).toMatchObject({ email: 'ana@example.com', firstName: 'Ana', externalId: 'c-1' });

		await client.patch(created.href!, { firstName: 'Ána', blackListEmail: true });
		const stored = await admin.read('profile', created.PKey!);
		expect(stored).toMatchObject({
			firstName: 'Ána',
			blackListEmail: true,
			email: 'ana@example.com',
		});

		expect(await client.delete(created.href!)).toBe(true);
		expect(await client.get(created.href!)).toBeUndefined();
		expect(await client.delete(created.href!)).toBe(false);
		// A PKey Campaign cannot parse names no record either (500 XTK-170036 in Campaign Standard).
		expect(await client.get(client.recordHref(PROFILE, '@not-a-pkey'))).toBeUndefined();
	});

	it("reports Campaign's error code and message, naming the route", async () => {
		await client.create('profileAndServicesExt/cusLoyaltyCard', { crmId: 'dup' });
		const error = await client
			.create('profileAndServicesExt/cusLoyaltyCard', { crmId: 'dup' })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(CampaignApiError);
		const apiError = error as CampaignApiError;
		expect(apiError.status).toBe(500);
		expect(apiError.code).toBe('PGS-220000');
		expect(apiError.serviceMessage).toMatch(/duplicate key value violates unique constraint/);
		expect(apiError.route).toBe('POST profileAndServicesExt/cusLoyaltyCard');

		const badField = await client
			.create(PROFILE, { email: 'c@example.com', noSuchField: 1 })
			.catch((e: unknown) => e as CampaignApiError);
		expect(badField.status).toBe(500);
		expect(badField.code).toBe('RST-360011');
		expect(badField.message).toMatch(/'noSuchField' property is not valid/);
	});

	it('describes a resource from its metadata and its filters from the filters href', async () => {
		const profile = await client.resourceType(PROFILE);
		const byName = new Map(profile.fields.map((f) => [f.name, f]));
		expect(byName.get('externalId')).toEqual({
			name: 'externalId',
			label: 'External Resource ID',
			type: 'string',
			resType: 'string',
			length: 100,
		});
		expect(byName.get('blackListEmail')?.type).toBe('boolean');
		expect(byName.get('lastModified')?.type).toBe('datetime');
		expect(byName.get('gender')?.values?.map((v) => v.value)).toEqual([
			'unknown',
			'male',
			'female',
		]);
		const filters = await client.filters(profile);
		expect(filters).toEqual(
			expect.arrayContaining([
				{ name: 'byEmail', label: 'By email', segment: 'byEmail', parameters: ['email'] },
				{
					name: 'byExternalId',
					label: 'By external ID',
					segment: 'byExternalId',
					parameters: ['externalId_parameter'],
				},
			]),
		);

		const resources = await client.listCustomResources();
		expect(resources.map((r) => r.name)).toEqual(
			expect.arrayContaining(['cusLoyaltyCard', 'cusEmailEvent']),
		);
		const card = await client.resourceType('profileAndServicesExt/cusLoyaltyCard');
		expect(card.fields.find((f) => f.name === 'profile')).toMatchObject({
			type: 'link',
			target: 'profile',
		});
		expect(card.fields.find((f) => f.name === 'points')?.type).toBe('long');
	});

	it("resolves the spec's opt-out names to the profile's blackList fields and their dates", async () => {
		const profile = await client.resourceType(PROFILE);
		const wire = resolveOptOutFields(profile, ['denyListEmail', 'denyList', 'ccpaOptOut']);
		expect(Object.fromEntries(wire)).toEqual({
			denyListEmail: { field: 'blackListEmail', lastModified: 'blackListEmailLastModified' },
			denyList: { field: 'blackList', lastModified: 'blackListLastModified' },
			ccpaOptOut: { field: 'ccpaOptOut' },
		});
		const cards = await client.resourceType('profileAndServicesExt/cusLoyaltyCard');
		expect(() => resolveOptOutFields(cards, ['denyListEmail'])).toThrow(
			/"denyListEmail" has no field \(looked for blackListEmail, blockListEmail, denyListEmail\)/,
		);
	});
});

describe('Retries', () => {
	function retryingClient() {
		const auth = campaignTokens(sandboxCampaignSettings(sandbox.url));
		const transport = axiosTransport({ auth });
		const retried: number[] = [];
		const retrying = new CampaignClient({
			transport: withRetry(
				transport,
				{ sleep: async () => {}, baseDelayMs: 1 },
				{ onRetry: (e) => retried.push(e.attempt) },
			),
			apiBaseUrl: sandbox.apiBase,
		});
		return {
			client: retrying,
			retried,
			close() {
				transport.close();
				auth.close();
			},
		};
	}

	it('reports a 500 that names its cause at once, and retries one that does not', async () => {
		const r = retryingClient();
		try {
			const [profile] = await admin.insert('profile', [{ email: 'r@example.com' }]);
			const href = r.client.recordHref(PROFILE, profile.PKey);
			await admin.resetCounters();
			// A PATCH is replay-safe: only the classification keeps it from being sent again.
			const refused = await r.client.patch(href, { gender: 'other' }).catch((e: unknown) => e);
			expect(refused).toMatchObject({ status: 500, code: 'RST-360011' });
			expect((await admin.counters())['PATCH campaign:record']).toBe(1);
			expect(r.retried).toEqual([]);

			await admin.setFaults({ script: [{ kind: '500', route: 'campaign:record' }] });
			expect(await r.client.get(href)).toMatchObject({ email: 'r@example.com' });
			expect(r.retried).toEqual([1]);
		} finally {
			r.close();
		}
	});
});

describe('Campaign v8 after migration', () => {
	it('addresses records by the PKeys and hrefs of the latest answer, and reads a 204 PATCH', async () => {
		await admin.insert('profile', [{ email: 'v8@example.com', externalId: 'v8-1' }]);
		await admin.setOptions({ flavor: 'v8' });
		const access = await resolveKeyAccess(client, PROFILE, 'externalId');
		const [found] = await findByKey(client, access, 'v8-1');
		const [again] = await findByKey(client, access, 'v8-1');
		expect(found.PKey).not.toBe(again.PKey);
		expect(await client.patch(found.href!, {})).toEqual({});
		await client.patch(again.href!, { firstName: 'Vee' });
		expect((await client.get(found.href!))?.firstName).toBe('Vee');
	});
});

describe('Email events (the resource docs/CAMPAIGN-SETUP.md sets up)', () => {
	const SOURCE = {
		resource: 'cusEmailEvent',
		filter: 'byModifiedSince',
		dateField: 'lastModified',
	};
	const idOf = (r: CampaignRecord) => String(r.eventId);

	async function readAll(position: EventPosition, pageSize: number, max = Infinity) {
		const source = await resolveEventSource(client, SOURCE);
		const read: CampaignRecord[] = [];
		for await (const record of readEventsAfter(client, source, position, pageSize, idOf)) {
			read.push(record);
			if (read.length >= max) break;
		}
		return read;
	}

	/** The position after `records`, as the node keeps it: the last date and the ids at it. */
	function positionAfter(records: CampaignRecord[], from: EventPosition): EventPosition {
		let position = from;
		for (const r of records) {
			const since = String(r.lastModified);
			position =
				since === position.since
					? { since, handled: [...position.handled, idOf(r)] }
					: { since, handled: [idOf(r)] };
		}
		return position;
	}

	it('finds the filter and the parameter Campaign generated in the metadata', async () => {
		const source = await resolveEventSource(client, SOURCE);
		expect(source.parameter).toBe('modifiedSince_parameter');
		expect(source.path).toBe('profileAndServicesExt/cusEmailEvent');
		await expect(
			resolveEventSource(client, { ...SOURCE, filter: 'byLastModifiedAfter' }),
		).rejects.toThrow(
			/has no filter "byLastModifiedAfter".*byModifiedSince \(\?modifiedSince_parameter\)/,
		);
		await expect(resolveEventSource(client, { ...SOURCE, resource: 'cusNothing' })).rejects.toThrow(
			/Campaign has no resource "cusNothing" under profileAndServicesExt/,
		);
		await expect(resolveEventSource(client, { ...SOURCE, dateField: 'modified' })).rejects.toThrow(
			/has no field "modified" \(Modification Date Field\)/,
		);
	});

	it('reads every event once across pages, runs and events sharing one modification date', async () => {
		await admin.generateProfiles({ count: 30 });
		// One Update data batch of 1,000: every event of the delivery shares one lastModified.
		await admin.simulateDelivery({ count: 30, seed: 3, openRate: 0.6, runWorkflow: false });
		await admin.runEmailEventsWorkflow({ batchSize: 1000 });
		const all = (await admin.dump('cusEmailEvent')).records;
		expect(new Set(all.map((e) => e.lastModified)).size).toBe(1);

		const start: EventPosition = { since: BEGINNING, handled: [] };
		const first = await readAll(start, 7, 12);
		const position = positionAfter(first, start);
		expect(position.handled).toHaveLength(12);
		const rest = await readAll(position, 7);
		const ids = [...first, ...rest].map(idOf);
		expect(ids.sort()).toEqual(all.map((e) => String(e.eventId)).sort());

		// New events of a second delivery, stamped in batches of 4: read once, after the others.
		await admin.simulateDelivery({
			count: 10,
			seed: 4,
			deliveryName: 'Second',
			runWorkflow: false,
		});
		await admin.runEmailEventsWorkflow({ batchSize: 4 });
		const later = await readAll(positionAfter(rest, position), 3);
		expect(later.length).toBeGreaterThan(0);
		expect(later.every((e) => e.deliveryName === 'Second')).toBe(true);
		expect(await readAll(positionAfter(later, positionAfter(rest, position)), 3)).toEqual([]);
	});

	it('asks Campaign with the documented filter, an explicit _order and _forcePagination', async () => {
		await admin.generateProfiles({ count: 3 });
		await admin.simulateDelivery({ count: 3, seed: 5 });
		const requests: string[] = [];
		const source = await resolveEventSource(client, SOURCE);
		const auth = campaignTokens(sandboxCampaignSettings(sandbox.url));
		const transport = axiosTransport({ auth });
		const spy = new CampaignClient({
			transport: {
				request: async (request) => {
					requests.push(request.url);
					return await transport.request(request);
				},
			},
			apiBaseUrl: client.apiBase,
		});
		try {
			const start = { since: BEGINNING, handled: [] };
			for await (const record of readEventsAfter(spy, source, start, 2, idOf)) void record;
		} finally {
			transport.close();
			auth.close();
		}
		const url = new URL(requests[0]);
		expect(url.pathname).toMatch(/\/profileAndServicesExt\/cusEmailEvent\/byModifiedSince$/);
		expect(url.searchParams.get('modifiedSince_parameter')).toBe(BEGINNING);
		expect(url.searchParams.get('_order')).toBe('lastModified');
		expect(url.searchParams.get('_forcePagination')).toBe('true');
	});
});
