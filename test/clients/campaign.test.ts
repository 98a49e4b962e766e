import { CampaignApiError, CampaignClient, type CampaignRecord } from '../../lib/campaign/client';
import {
	CampaignSandboxAdmin,
	startCampaignSandbox,
	type CampaignSandbox,
} from '../../sandbox/campaign';
import { campaignClientFor, type Wired } from './transports';

let sandbox: CampaignSandbox;
let admin: CampaignSandboxAdmin;
let client: CampaignClient;
let wired: Wired<CampaignClient>;

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
		for await (const page of client.listPages('profileAndServicesExt/profile', { lineCount: 10 })) {
			pages.push(page.records);
		}
		expect(pages.map((p) => p.length)).toEqual([10, 10, 3]);
		const keys = pages.flat().map((r) => r.PKey);
		expect(new Set(keys).size).toBe(23);
	});

	it('orders a list by a field', async () => {
		await admin.insert('profile', [
			{ email: 'b@example.com', lastName: 'B' },
			{ email: 'a@example.com', lastName: 'A' },
			{ email: 'c@example.com', lastName: 'C' },
		]);
		const names: unknown[] = [];
		for await (const page of client.listPages('profileAndServicesExt/profile', {
			lineCount: 2,
			order: { field: 'lastName', descending: true },
		})) {
			names.push(...page.records.map((r) => r.lastName));
		}
		expect(names).toEqual(['C', 'B', 'A']);
	});

	it('finds every record a filter matches, so duplicate keys can be detected', async () => {
		await admin.insert(
			'profile',
			[
				{ email: 'x1@example.com', externalId: "o'neil & co?" },
				{ email: 'x2@example.com', externalId: "o'neil & co?" },
				{ email: 'x3@example.com', externalId: 'other' },
			],
			{ bypassUnique: true },
		);
		const found = await client.findByFilter('profileAndServicesExt/profile', 'byExternalId', {
			externalId: "o'neil & co?",
		});
		expect(found.map((r) => r.email).sort()).toEqual(['x1@example.com', 'x2@example.com']);
		expect(
			await client.findByFilter('profileAndServicesExt/profile', 'byExternalId', {
				externalId: 'none',
			}),
		).toEqual([]);
	});

	it('creates, reads, patches and deletes a record by its PKey href', async () => {
		const created = await client.create('profileAndServicesExt/profile', {
			email: 'ana@example.com',
			firstName: 'Ana',
			externalId: 'c-1',
		});
		expect(created.PKey).toMatch(/^@/);
		expect(created.href).toBe(client.recordHref('profileAndServicesExt/profile', created.PKey!));

		const read = await client.get(
			client.recordHref('profileAndServicesExt/profile', created.PKey!),
		);
		expect(read).toMatchObject({ email: 'ana@example.com', firstName: 'Ana', externalId: 'c-1' });

		await client.patch(created.href!, { firstName: 'Ána', denyListEmail: true });
		const stored = await admin.read('profile', created.PKey!);
		expect(stored).toMatchObject({
			firstName: 'Ána',
			denyListEmail: true,
			email: 'ana@example.com',
		});

		expect(await client.delete(created.href!)).toBe(true);
		expect(await client.get(created.href!)).toBeUndefined();
		expect(await client.delete(created.href!)).toBe(false);
	});

	it("reports Campaign's error code and message, naming the route", async () => {
		await client.create('profileAndServicesExt/profile', {
			email: 'a@example.com',
			externalId: 'dup',
		});
		const error = await client
			.create('profileAndServicesExt/profile', { email: 'b@example.com', externalId: 'dup' })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(CampaignApiError);
		const apiError = error as CampaignApiError;
		expect(apiError.status).toBe(409);
		expect(apiError.code).toMatch(/^RST-\d+$/);
		expect(apiError.serviceMessage).toMatch(/externalId/);
		expect(apiError.route).toBe('POST profileAndServicesExt/profile');

		const badField = await client
			.create('profileAndServicesExt/profile', { email: 'c@example.com', noSuchField: 1 })
			.catch((e: unknown) => e as CampaignApiError);
		expect(badField.status).toBe(400);
		expect(badField.message).toMatch(/noSuchField/);
	});

	it('describes a resource: field types, unique fields and filters', async () => {
		const profile = await client.resourceType('profileAndServicesExt/profile');
		const byName = new Map(profile.fields.map((f) => [f.name, f]));
		expect(byName.get('externalId')).toMatchObject({
			type: 'string',
			unique: true,
			filters: ['byExternalId'],
		});
		expect(byName.get('email')).toMatchObject({ unique: false, filters: ['byEmail'] });
		expect(byName.get('denyListEmail')?.type).toBe('boolean');
		expect(byName.get('gender')?.values?.map((v) => v.value)).toEqual([
			'unknown',
			'male',
			'female',
		]);
		expect(byName.get('lastModified')?.readOnly).toBe(true);
		expect(profile.filters.map((f) => f.name)).toEqual(
			expect.arrayContaining(['byEmail', 'byExternalId']),
		);

		const resources = await client.listCustomResources();
		expect(resources.map((r) => r.name)).toEqual(
			expect.arrayContaining(['cusLoyaltyCard', 'cusEmailEvent']),
		);
		const card = await client.resourceType('profileAndServicesExt/cusLoyaltyCard');
		expect(card.fields.find((f) => f.name === 'crmId')).toMatchObject({
			unique: true,
			filters: ['byCrmId'],
		});
	});
});

describe('Email events', () => {
	it('reads events after a checkpoint, page by page, without gaps or repeats', async () => {
		await admin.generateProfiles({ count: 20 });
		const first = await admin.simulateDelivery({ count: 20, seed: 3 });
		const firstTotal = Object.values(first.events).reduce((a, b) => a + b, 0);

		const seen: string[] = [];
		let checkpoint;
		for await (const page of client.readEvents({ pageSize: 7 })) {
			seen.push(...page.events.map((e) => String(e.eventId)));
			checkpoint = page.checkpoint;
		}
		expect(seen).toHaveLength(firstTotal);
		expect(new Set(seen).size).toBe(firstTotal);
		expect(checkpoint).toBeDefined();

		// Nothing new: an empty read keeps the checkpoint.
		const empty: string[] = [];
		for await (const page of client.readEvents({ after: checkpoint, pageSize: 7 })) {
			empty.push(...page.events.map((e) => String(e.eventId)));
			expect(page.checkpoint).toEqual(checkpoint);
		}
		expect(empty).toEqual([]);

		const second = await admin.simulateDelivery({ count: 5, seed: 4, deliveryName: 'Second' });
		const secondTotal = Object.values(second.events).reduce((a, b) => a + b, 0);
		const later: CampaignRecord[] = [];
		for await (const page of client.readEvents({ after: checkpoint, pageSize: 3 }))
			later.push(...page.events);
		expect(later).toHaveLength(secondTotal);
		expect(later.every((e) => e.deliveryName === 'Second')).toBe(true);
		expect(later.some((e) => seen.includes(String(e.eventId)))).toBe(false);
	});
});
