import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SANDBOX_DEFAULTS } from '../../sandbox/defaults';
import {
	CampaignSandboxAdmin,
	startCampaignSandbox,
	type CampaignSandbox,
} from '../../sandbox/campaign';

const { clientId, clientSecret, scopes } = SANDBOX_DEFAULTS.campaign;

interface Json {
	[key: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

let sandbox: CampaignSandbox;
let admin: CampaignSandboxAdmin;
let token: string;

async function getToken(form: Record<string, string>): Promise<{ status: number; body: Json }> {
	const response = await fetch(`${sandbox.url}/ims/token/v3`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams(form).toString(),
	});
	return { status: response.status, body: (await response.json()) as Json };
}

async function api(
	method: string,
	path: string,
	body?: unknown,
	headers: Record<string, string> = { Authorization: `Bearer ${token}`, 'X-Api-Key': clientId },
): Promise<{ status: number; body: Json; headers: Headers }> {
	const url = path.startsWith('http') ? path : `${sandbox.apiBase}/${path}`;
	const response = await fetch(url, {
		method,
		headers: { 'Content-Type': 'application/json', ...headers },
		body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
	});
	const text = await response.text();
	return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
}

async function readAll(path: string): Promise<Json[]> {
	const records: Json[] = [];
	let next: string | undefined = path;
	for (let pages = 0; next && pages < 1000; pages++) {
		const page = await api('GET', next);
		expect(page.status).toBe(200);
		records.push(...page.body.content);
		next = page.body.next?.href;
	}
	return records;
}

beforeAll(async () => {
	sandbox = await startCampaignSandbox({ port: 0, seed: 7 });
	admin = new CampaignSandboxAdmin(sandbox.url);
});

afterAll(async () => {
	await sandbox.close();
});

beforeEach(async () => {
	await admin.reset({ seed: 7 });
	const issued = await getToken({
		grant_type: 'client_credentials',
		client_id: clientId,
		client_secret: clientSecret,
		scope: scopes,
	});
	token = issued.body.access_token;
});

describe('IMS token endpoint', () => {
	it('issues a bearer token for the right client credentials', async () => {
		const issued = await getToken({
			grant_type: 'client_credentials',
			client_id: clientId,
			client_secret: clientSecret,
			scope: 'openid,AdobeID,campaign_sdk',
		});
		expect(issued.status).toBe(200);
		expect(issued.body).toEqual({
			access_token: expect.any(String),
			token_type: 'bearer',
			expires_in: SANDBOX_DEFAULTS.campaign.tokenLifetimeSeconds,
		});
	});

	it('answers IMS errors for a wrong secret, an unknown client and a bad scope', async () => {
		const base = { grant_type: 'client_credentials', client_id: clientId, scope: 'openid' };
		const wrongSecret = await getToken({ ...base, client_secret: 'nope' });
		expect(wrongSecret.status).toBe(401);
		expect(wrongSecret.body.error).toBe('invalid_client');
		expect(JSON.stringify(wrongSecret.body)).not.toContain('nope');
		const unknown = await getToken({ ...base, client_id: 'someone', client_secret: clientSecret });
		expect(unknown.status).toBe(400);
		expect(unknown.body).toEqual({
			error: 'invalid_client',
			error_description: 'invalid client_id parameter',
		});
		const badScope = await getToken({ ...base, client_secret: clientSecret, scope: 'openid,root' });
		expect(badScope.status).toBe(400);
		expect(badScope.body.error).toBe('invalid_scope');
	});

	it('lets tokens expire after the configured lifetime', async () => {
		const shortLived = await startCampaignSandbox({ port: 0, tokenLifetimeSeconds: 1 });
		try {
			const response = await fetch(`${shortLived.url}/ims/token/v3`, {
				method: 'POST',
				headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
				body: `grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}&scope=openid`,
			});
			const { access_token: shortToken, expires_in } = (await response.json()) as Json;
			expect(expires_in).toBe(1);
			const headers = { Authorization: `Bearer ${shortToken}`, 'X-Api-Key': clientId };
			const url = `${shortLived.apiBase}/profileAndServices/profile`;
			expect((await fetch(url, { headers })).status).toBe(200);
			await new Promise((resolve) => setTimeout(resolve, 1100));
			const expired = await fetch(url, { headers });
			expect(expired.status).toBe(401);
			expect(await expired.json()).toEqual({
				error_code: '401013',
				message: 'Oauth token is not valid',
			});
		} finally {
			await shortLived.close();
		}
	});
});

describe('Authentication of API calls', () => {
	it('refuses calls without an API key, with a wrong key or without a valid token', async () => {
		const noKey = await api('GET', 'profileAndServices/profile', undefined, {
			Authorization: `Bearer ${token}`,
		});
		expect(noKey.status).toBe(403);
		expect(noKey.body).toEqual({ error_code: '403000', message: 'Api Key is required' });
		const wrongKey = await api('GET', 'profileAndServices/profile', undefined, {
			Authorization: `Bearer ${token}`,
			'X-Api-Key': 'other',
		});
		expect(wrongKey.status).toBe(403);
		expect(wrongKey.body.error_code).toBe('403003');
		const noToken = await api('GET', 'profileAndServices/profile', undefined, {
			'X-Api-Key': clientId,
		});
		expect(noToken.status).toBe(401);
		const badToken = await api('GET', 'profileAndServices/profile', undefined, {
			Authorization: 'Bearer forged',
			'X-Api-Key': clientId,
		});
		expect(badToken.status).toBe(401);
	});

	it('refuses another organization and revoked tokens', async () => {
		const response = await fetch(`${sandbox.url}/other-org/campaign/profileAndServices/profile`, {
			headers: { Authorization: `Bearer ${token}`, 'X-Api-Key': clientId },
		});
		expect(response.status).toBe(403);
		expect((await admin.expireTokens()).expired).toBeGreaterThan(0);
		expect((await api('GET', 'profileAndServices/profile')).status).toBe(401);
	});
});

describe('Profiles', () => {
	it('creates, reads, updates and deletes a profile by its PKey under both paths', async () => {
		const created = await api('POST', 'profileAndServices/profile', {
			email: 'ana@example.com',
			firstName: 'Ana',
			gender: 'female',
			externalId: 'c-1',
			denyListEmail: true,
		});
		expect(created.status).toBe(201);
		const { PKey, href } = created.body;
		expect(PKey).toMatch(/^@[A-Za-z0-9_-]+$/);
		expect(href).toBe(`${sandbox.apiBase}/profileAndServices/profile/${PKey}`);
		expect(created.body.created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);

		const read = await api('GET', href);
		expect(read.body).toMatchObject({ PKey, firstName: 'Ana', lastName: '', denyListEmail: true });
		const ext = await api('GET', `profileAndServicesExt/profile/${PKey}`);
		expect(ext.body.href).toBe(`${sandbox.apiBase}/profileAndServicesExt/profile/${PKey}`);

		await new Promise((resolve) => setTimeout(resolve, 5));
		const patched = await api('PATCH', `profileAndServicesExt/profile/${PKey}`, {
			lastName: 'Lee',
		});
		expect(patched.status).toBe(200);
		expect(patched.body).toEqual({ PKey, href: ext.body.href });
		const after = await api('GET', href);
		expect(after.body.lastName).toBe('Lee');
		expect(after.body.lastModified > read.body.lastModified).toBe(true);
		expect(after.body.created).toBe(read.body.created);

		expect((await api('DELETE', href)).status).toBe(200);
		const gone = await api('GET', href);
		expect(gone.status).toBe(404);
		expect(gone.body.code).toBe(404);
		expect(gone.body.message).toContain(PKey);
	});

	it('finds profiles with byEmail and byExternalId, whatever characters the value holds', async () => {
		const tricky = [
			`o'brien@example.com`,
			'zoë.müller@example.com',
			`x' or 1=1 --@example.com`,
			'a&b=c%20d+e@example.com',
			'"quoted"@example.com',
		];
		const inserted = await admin.insert(
			'profile',
			tricky.map((email, i) => ({ email, externalId: `ext-${i}/'"&?` })),
		);
		await admin.insert('profile', [{ email: 'other@example.com', externalId: 'ext-other' }]);
		for (const [i, email] of tricky.entries()) {
			const byEmail = await api(
				'GET',
				`profileAndServices/profile/byEmail?email=${encodeURIComponent(email)}`,
			);
			expect(byEmail.status).toBe(200);
			expect(byEmail.body.content.map((p: Json) => p.PKey)).toEqual([inserted[i].PKey]);
			const byExternalId = await api(
				'GET',
				`profileAndServicesExt/profile/byExternalId?externalId=${encodeURIComponent(`ext-${i}/'"&?`)}`,
			);
			expect(byExternalId.body.content.map((p: Json) => p.email)).toEqual([email]);
		}
		const none = await api('GET', 'profileAndServices/profile/byEmail?email=nobody');
		expect(none.body.content).toEqual([]);
	});

	it('pages with _lineCount and next.href without skipping or repeating records', async () => {
		await admin.generateProfiles({ count: 130, seed: 3 });
		const records = await readAll('profileAndServices/profile?_lineCount=25');
		expect(records).toHaveLength(130);
		expect(new Set(records.map((r) => r.PKey)).size).toBe(130);

		const firstPage = await api('GET', 'profileAndServices/profile');
		expect(firstPage.body.content).toHaveLength(25);
		expect(firstPage.body.serverSidePagination).toBe(true);
		const count = await api('GET', firstPage.body.count.href);
		expect(count.body).toEqual({ count: 130 });

		const ordered = await readAll('profileAndServices/profile?_lineCount=40&_order=email%20desc');
		const emails = ordered.map((r) => r.email as string);
		expect(emails).toEqual([...emails].sort().reverse());
		expect(ordered).toHaveLength(130);
	});

	it('handles 20,000 profiles: paging and a filter lookup', async () => {
		await admin.generateProfiles({ count: 20000, seed: 5 });
		const records = await readAll('profileAndServices/profile?_lineCount=1000&_order=lastName');
		expect(records).toHaveLength(20000);
		const one = records[12345];
		const found = await api(
			'GET',
			`profileAndServices/profile/byExternalId?externalId=${encodeURIComponent(one.externalId)}`,
		);
		expect(found.body.content[0].PKey).toBe(one.PKey);
	});

	it('refuses a second profile with the same externalId (unique key)', async () => {
		await api('POST', 'profileAndServices/profile', {
			externalId: 'dup-1',
			email: 'a@example.com',
		});
		const second = await api('POST', 'profileAndServices/profile', {
			externalId: 'dup-1',
			email: 'b@example.com',
		});
		expect(second.status).toBe(409);
		expect(second.body.message).toContain('externalId "dup-1"');
	});

	it('can be made to hold a duplicated key through the admin API', async () => {
		await admin.insert(
			'profile',
			[
				{ externalId: 'twin', email: 'one@example.com' },
				{ externalId: 'twin', email: 'two@example.com' },
			],
			{ bypassUnique: true },
		);
		const found = await api('GET', 'profileAndServices/profile/byExternalId?externalId=twin');
		expect(found.body.content.map((p: Json) => p.email).sort()).toEqual([
			'one@example.com',
			'two@example.com',
		]);
	});
});

describe('Custom resources', () => {
	it('creates loyalty cards linked to a profile and refuses a duplicated crmId', async () => {
		const [profile] = await admin.insert('profile', [{ email: 'p@example.com', externalId: 'p1' }]);
		const card = await api('POST', 'profileAndServicesExt/cusLoyaltyCard', {
			crmId: 'CRM-1',
			cardNumber: '0001',
			points: 120,
			tier: 'gold',
			profile: { PKey: profile.PKey },
		});
		expect(card.status).toBe(201);
		expect(card.body.profile.PKey).toBe(profile.PKey);
		const dup = await api('POST', 'profileAndServicesExt/cusLoyaltyCard', { crmId: 'CRM-1' });
		expect(dup.status).toBe(409);
		expect(dup.body.message).toMatch(/cusLoyaltyCard.*crmId "CRM-1"/);
		const byCrmId = await api('GET', 'profileAndServicesExt/cusLoyaltyCard/byCrmId?crmId=CRM-1');
		expect(byCrmId.body.content).toHaveLength(1);
		const patched = await api('PATCH', card.body.href, { points: 150 });
		expect(patched.status).toBe(200);
		expect((await api('GET', card.body.href)).body.points).toBe(150);
		expect((await api('DELETE', card.body.href)).status).toBe(200);
		expect((await admin.dump('cusLoyaltyCard')).count).toBe(0);
	});

	it('lists custom resources and describes fields and filters in the metadata', async () => {
		const list = await api('GET', 'profileAndServicesExt');
		expect(list.body.content.map((r: Json) => r.name)).toEqual(
			expect.arrayContaining(['cusLoyaltyCard', 'cusEmailEvent']),
		);
		const profile = await api('GET', 'profileAndServices/resourceType/profile');
		expect(profile.status).toBe(200);
		expect(profile.body.content.gender).toMatchObject({ type: 'enumeration', label: 'Gender' });
		expect(profile.body.content.gender.values.map((v: Json) => v.value)).toEqual([
			'unknown',
			'male',
			'female',
		]);
		expect(profile.body.content.externalId.unique).toBe(true);
		expect(profile.body.filters.byEmail.parameters).toEqual({
			email: { label: 'Email', type: 'string' },
		});
		const card = await api('GET', 'profileAndServicesExt/resourceType/cusLoyaltyCard');
		expect(card.body.filters.byCrmId.href).toContain('/cusLoyaltyCard/byCrmId?crmId=');
		expect(card.body.content.profile).toMatchObject({ type: 'link', target: 'profile' });
	});

	it('accepts new resources defined through the admin API', async () => {
		await admin.defineResource({
			name: 'cusStore',
			label: 'Stores',
			fields: [
				{ name: 'storeCode', type: 'string', unique: true },
				{ name: 'open', type: 'boolean' },
			],
			filters: [{ name: 'byStoreCode', field: 'storeCode' }],
		});
		await api('POST', 'profileAndServicesExt/cusStore', { storeCode: 'S1', open: true });
		const found = await api('GET', 'profileAndServicesExt/cusStore/byStoreCode?storeCode=S1');
		expect(found.body.content[0]).toMatchObject({ storeCode: 'S1', open: true });
		await expect(admin.defineResource({ name: 'bad name', fields: [] })).rejects.toThrow(
			/not a valid API name/,
		);
	});
});

describe('Email events', () => {
	it('reads events after a checkpoint without skips or repeats while new events arrive', async () => {
		await admin.generateProfiles({ count: 60, seed: 9 });
		const first = await admin.simulateDelivery({ count: 60, seed: 1 });
		expect(first.events.send).toBe(60);
		expect(first.events.open + first.events.bounce).toBeGreaterThan(0);

		const seen: string[] = [];
		let checkpoint = { lastModified: '1970-01-01 00:00:00.000Z', eventId: '' };
		const readBatch = async (lineCount: number) => {
			const path =
				`profileAndServicesExt/cusEmailEvent/byLastModifiedAfter` +
				`?lastModified=${encodeURIComponent(checkpoint.lastModified)}` +
				`&eventId=${encodeURIComponent(checkpoint.eventId)}&_lineCount=${lineCount}`;
			const page = await api('GET', path);
			expect(page.status).toBe(200);
			for (const event of page.body.content) {
				seen.push(event.eventId);
				checkpoint = { lastModified: event.lastModified, eventId: event.eventId };
			}
			return page.body.content.length as number;
		};
		await readBatch(17);
		await readBatch(17);
		// A user edits an already-read event and a second delivery runs, between two reads.
		const dump = await admin.dump('cusEmailEvent');
		await admin.edit('cusEmailEvent', dump.records[0].PKey, { campaignName: 'Renamed' });
		const second = await admin.simulateDelivery({ count: 30, seed: 2 });
		while ((await readBatch(17)) > 0);

		const total =
			Object.values(first.events).reduce((a, b) => a + b, 0) +
			Object.values(second.events).reduce((a, b) => a + b, 0);
		const edited = dump.records[0].eventId as string;
		expect(seen.filter((id) => id !== edited)).toHaveLength(total - 1);
		expect(new Set(seen.filter((id) => id !== edited)).size).toBe(total - 1);
		// The edited event comes again, once, after its change.
		expect(seen.filter((id) => id === edited)).toHaveLength(2);
	});

	it('orders events by lastModified and filters them by type', async () => {
		await admin.generateProfiles({ count: 40, seed: 4 });
		const summary = await admin.simulateDelivery({
			count: 40,
			seed: 3,
			campaignName: 'Été "2025"',
		});
		const sends = await readAll(
			'profileAndServicesExt/cusEmailEvent/byType?type=send&_lineCount=7',
		);
		expect(sends).toHaveLength(summary.events.send);
		expect(sends[0]).toMatchObject({ campaignName: 'Été "2025"', type: 'send' });
		expect(sends[0].mirrorPageUrl).toMatch(/^https:\/\//);
		const clicks = await readAll('profileAndServicesExt/cusEmailEvent/byType?type=click');
		for (const click of clicks) expect(click.clickedUrl).toMatch(/^https:\/\//);
	});
});

describe('Persistence', () => {
	it('keeps records across a restart when persistFile is set', async () => {
		const file = path.join(
			fs.mkdtempSync(path.join(os.tmpdir(), 'campaign-sandbox-')),
			'state.json',
		);
		const first = await startCampaignSandbox({ port: 0, persistFile: file });
		const [saved] = await new CampaignSandboxAdmin(first.url).insert('cusLoyaltyCard', [
			{ crmId: 'KEEP-1', points: 3 },
		]);
		await first.close();
		const second = await startCampaignSandbox({ port: 0, persistFile: file });
		try {
			const dump = await new CampaignSandboxAdmin(second.url).dump('cusLoyaltyCard');
			expect(dump.records).toEqual([
				expect.objectContaining({ PKey: saved.PKey, crmId: 'KEEP-1' }),
			]);
		} finally {
			await second.close();
		}
	});
});

describe('Errors', () => {
	it('answers Campaign errors for bad requests and keeps serving', async () => {
		const cases: [string, string, unknown, number, RegExp][] = [
			['POST', 'profileAndServices/profile', '{not json', 400, /not valid JSON/],
			['POST', 'profileAndServices/profile', { shoeSize: 4 }, 400, /Unknown field 'shoeSize'/],
			[
				'POST',
				'profileAndServices/profile',
				{ gender: 'other' },
				400,
				/field 'gender'.*unknown, male, female/,
			],
			['POST', 'profileAndServices/profile', { birthDate: '31/12/1990' }, 400, /birthDate/],
			['POST', 'profileAndServices/profile', { denyList: 'yes' }, 400, /denyList/],
			['GET', 'profileAndServicesExt/cusNothing', undefined, 404, /Unknown resource 'cusNothing'/],
			['GET', 'profileAndServices/profile/@doesNotExist', undefined, 404, /@doesNotExist/],
			['GET', 'profileAndServices/profile?_lineCount=100000', undefined, 400, /_lineCount/],
			['GET', 'profileAndServices/profile?_order=shoeSize', undefined, 400, /order/],
			['GET', 'profileAndServices/profile/byShoeSize?shoeSize=1', undefined, 400, /byShoeSize/],
			['GET', 'profileAndServices/profile?_lineStart=garbage', undefined, 400, /_lineStart/],
			['PATCH', 'profileAndServices/profile/@nope', { email: 'x' }, 404, /@nope/],
		];
		for (const [method, path, body, status, message] of cases) {
			const response = await api(method, path, body);
			expect({ path, status: response.status }).toEqual({ path, status });
			expect(response.body.code).toBe(status);
			expect(response.body.message).toMatch(/^RST-\d+ /);
			expect(response.body.message).toMatch(message);
		}
		expect((await api('GET', 'profileAndServices/profile')).status).toBe(200);
	});

	it('throttles with 429 and Retry-After when faults are scripted, and counts requests', async () => {
		await admin.resetCounters();
		await admin.setFaults({ script: [{ kind: '429', route: 'campaign:list', retryAfter: 3 }] });
		const throttled = await api('GET', 'profileAndServices/profile');
		expect(throttled.status).toBe(429);
		expect(throttled.headers.get('retry-after')).toBe('3');
		expect(throttled.body.error_code).toBe('429050');
		expect((await api('GET', 'profileAndServices/profile')).status).toBe(200);
		expect(await admin.counters()).toMatchObject({ 'GET campaign:list': 2 });
	});
});
