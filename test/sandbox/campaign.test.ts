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
	it("issues a bearer token for the scopes of a Developer Console project with Campaign's API", async () => {
		const issued = await getToken({
			grant_type: 'client_credentials',
			client_id: clientId,
			client_secret: clientSecret,
			scope:
				'openid,AdobeID,campaign_sdk,additional_info.projectedProductContext,campaign_config_server_general,deliverability_service_general',
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
				body: new URLSearchParams({
					grant_type: 'client_credentials',
					client_id: clientId,
					client_secret: clientSecret,
					scope: scopes,
				}).toString(),
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
		expect(noToken.status).toBe(403);
		expect(noToken.body).toEqual({ error_code: '403010', message: 'Oauth token is missing.' });
		const badToken = await api('GET', 'profileAndServices/profile', undefined, {
			Authorization: 'Bearer forged',
			'X-Api-Key': clientId,
		});
		expect(badToken.status).toBe(401);
		expect(badToken.body).toEqual({ error_code: '401013', message: 'Oauth token is not valid' });
	});

	it('refuses a token issued without the Campaign scope with 403011', async () => {
		const narrow = await getToken({
			grant_type: 'client_credentials',
			client_id: clientId,
			client_secret: clientSecret,
			scope: 'openid,AdobeID',
		});
		const refused = await api('GET', 'profileAndServices/profile', undefined, {
			Authorization: `Bearer ${narrow.body.access_token}`,
			'X-Api-Key': clientId,
		});
		expect(refused.status).toBe(403);
		expect(refused.body.error_code).toBe('403011');
	});

	it('refuses the old default scope campaign_config, which a Console project does not have', async () => {
		const old = await getToken({
			grant_type: 'client_credentials',
			client_id: clientId,
			client_secret: clientSecret,
			scope: 'openid,AdobeID,campaign_sdk,campaign_config,additional_info.projectedProductContext',
		});
		expect(old.status).toBe(400);
		expect(old.body).toMatchObject({ error: 'invalid_scope' });
	});

	it('refuses another organization and revoked tokens', async () => {
		const response = await fetch(`${sandbox.url}/other-org/campaign/profileAndServices/profile`, {
			headers: { Authorization: `Bearer ${token}`, 'X-Api-Key': clientId },
		});
		// What Adobe.io answers for a tenant the token is not provisioned for (troubleshooting.md).
		expect(response.status).toBe(500);
		expect(await response.json()).toEqual({
			code: 500,
			message: 'Oops. Something went wrong. Check your URI and try again.',
		});
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
			blackListEmail: true,
		});
		expect(created.status).toBe(201);
		const { PKey, href } = created.body;
		expect(PKey).toMatch(/^@[A-Za-z0-9_-]+$/);
		expect(href).toBe(`${sandbox.apiBase}/profileAndServices/profile/${PKey}`);
		expect(created.body.created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);

		const read = await api('GET', href);
		expect(read.body).toMatchObject({ PKey, firstName: 'Ana', lastName: '', blackListEmail: true });
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
		// Campaign's 404 arrives as a bare JSON string (adobe/aio-lib-campaign-standard#51).
		expect(typeof gone.body).toBe('string');
		expect(gone.body).toMatch(
			/^RST-360011 An error has occurred - please contact your administrator\./,
		);
		expect(gone.body).toContain(PKey);
	});

	it('serves the opt-out flags as the REST API names them, each with the date it last changed', async () => {
		const [profile] = await admin.insert('profile', [
			{ email: 'o@example.com', blackListFax: true },
		]);
		const read = (await api('GET', `profileAndServices/profile/${profile.PKey}`)).body;
		for (const flag of [
			'blackList',
			'blackListEmail',
			'blackListFax',
			'blackListMobile',
			'blackListPhone',
			'blackListPostalMail',
			'blackListPushnotification',
		]) {
			expect(typeof read[flag]).toBe('boolean');
			expect(read).toHaveProperty(`${flag}LastModified`);
		}
		expect(read.ccpaOptOut).toBe(false);
		expect(read.denyListEmail).toBeUndefined();
		// Set on create for the flag given, empty for the others.
		expect(read.blackListFaxLastModified).toBe(read.created);
		expect(read.blackListEmailLastModified).toBe('');

		await new Promise((resolve) => setTimeout(resolve, 5));
		await api('PATCH', read.href, { blackListEmail: true, blackListFax: true });
		const after = (await api('GET', read.href)).body;
		expect(after.blackListEmailLastModified).toBe(after.lastModified);
		// An unchanged flag keeps its date.
		expect(after.blackListFaxLastModified).toBe(read.blackListFaxLastModified);

		const readOnly = await api('PATCH', read.href, {
			blackListEmailLastModified: '2020-01-01 00:00:00.000Z',
		});
		expect(readOnly.status).toBe(500);
		expect(readOnly.body.message).toMatch(
			/Cannot update the 'blackListEmailLastModified' property that is read-only/,
		);
		const unknown = await api('PATCH', read.href, { denyListEmail: true });
		expect(unknown.status).toBe(500);
		expect(unknown.body.message).toMatch(
			/'denyListEmail' property is not valid for the 'profile' resource/,
		);
	});

	it('finds profiles with byEmail and the custom byExternalId filter, whatever characters the value holds', async () => {
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
			// A custom filter: under the Ext path only, with the parameter name Campaign generates.
			const byExternalId = await api(
				'GET',
				`profileAndServicesExt/profile/byExternalId?externalId_parameter=${encodeURIComponent(`ext-${i}/'"&?`)}`,
			);
			expect(byExternalId.body.content.map((p: Json) => p.email)).toEqual([email]);
		}
		const none = await api('GET', 'profileAndServices/profile/byEmail?email=nobody');
		expect(none.body.content).toEqual([]);
		const notThere = await api(
			'GET',
			'profileAndServices/profile/byExternalId?externalId_parameter=x',
		);
		expect(notThere.status).toBe(400);
	});

	it('pages with _lineCount and next.href without skipping or repeating records', async () => {
		await admin.generateProfiles({ count: 130, seed: 3 });
		const records = await readAll('profileAndServices/profile?_lineCount=25');
		expect(records).toHaveLength(130);
		expect(new Set(records.map((r) => r.PKey)).size).toBe(130);

		const firstPage = await api('GET', 'profileAndServices/profile');
		expect(firstPage.body.content).toHaveLength(25);
		const count = await api('GET', firstPage.body.count.href);
		expect(count.body).toEqual({ count: 130 });

		const ordered = await readAll('profileAndServices/profile?_lineCount=40&_order=email%20desc');
		const emails = ordered.map((r) => r.email as string);
		expect(emails).toEqual([...emails].sort().reverse());
		expect(ordered).toHaveLength(130);
	});

	it('answers a table above the big-table threshold without next unless _forcePagination=true', async () => {
		await admin.generateProfiles({ count: 30, seed: 3 });
		expect((await admin.options()).bigTableThreshold).toBe(100_000);
		await admin.setOptions({ bigTableThreshold: 29 });
		const unforced = await api('GET', 'profileAndServices/profile?_lineCount=10');
		expect(unforced.body.content).toHaveLength(10);
		expect(unforced.body.next).toBeUndefined();
		const forced = await readAll('profileAndServices/profile?_lineCount=10&_forcePagination=true');
		expect(forced).toHaveLength(30);
		await admin.setOptions({ bigTableThreshold: 30 });
		expect(await readAll('profileAndServices/profile?_lineCount=10')).toHaveLength(30);
		await admin.reset({ seed: 7 });
		expect((await admin.options()).bigTableThreshold).toBe(100_000);
	});

	it('handles 20,000 profiles: paging and a filter lookup', async () => {
		await admin.generateProfiles({ count: 20000, seed: 5 });
		const records = await readAll('profileAndServices/profile?_lineCount=1000&_order=lastName');
		expect(records).toHaveLength(20000);
		const one = records[12345];
		const found = await api(
			'GET',
			`profileAndServicesExt/profile/byExternalId?externalId_parameter=${encodeURIComponent(one.externalId)}`,
		);
		expect(found.body.content[0].PKey).toBe(one.PKey);
	});

	it('does not refuse a second profile with the same externalId: nothing makes it unique', async () => {
		for (const email of ['a@example.com', 'b@example.com']) {
			const created = await api('POST', 'profileAndServices/profile', {
				externalId: 'dup-1',
				email,
			});
			expect(created.status).toBe(201);
		}
		const found = await api(
			'GET',
			'profileAndServicesExt/profile/byExternalId?externalId_parameter=dup-1',
		);
		expect(found.body.content.map((p: Json) => p.email).sort()).toEqual([
			'a@example.com',
			'b@example.com',
		]);
	});
});

describe('Custom resources', () => {
	it('creates loyalty cards linked to a profile and refuses a duplicated crmId with 500', async () => {
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
		// crmId has a unique index here (an identification key); Campaign answers a duplicate with
		// 500 and PostgreSQL's message (experience-cloud.en help/campaign/api/limitations.md).
		const dup = await api('POST', 'profileAndServicesExt/cusLoyaltyCard', { crmId: 'CRM-1' });
		expect(dup.status).toBe(500);
		expect(dup.body.code).toBe(500);
		expect(dup.body.message).toMatch(
			/^A 'Loyalty cards' with the same key 'CRM-1' already exists\. PGS-220000 PostgreSQL error: ERROR: {2}duplicate key value violates unique constraint/,
		);
		const byCrmId = await api(
			'GET',
			'profileAndServicesExt/cusLoyaltyCard/byCrmId?crmId_parameter=CRM-1',
		);
		expect(byCrmId.body.content).toHaveLength(1);
		const patched = await api('PATCH', card.body.href, { points: 150 });
		expect(patched.status).toBe(200);
		expect((await api('GET', card.body.href)).body.points).toBe(150);
		expect((await api('DELETE', card.body.href)).status).toBe(200);
		expect((await admin.dump('cusLoyaltyCard')).count).toBe(0);
	});

	it('lists the custom resources as an object keyed by resource name', async () => {
		const list = await api('GET', 'profileAndServicesExt/');
		expect(list.body.apiName).toBe('resourceType');
		expect(list.body.cusLoyaltyCard).toMatchObject({
			data: '/profileAndServicesExt/cusLoyaltyCard/',
			href: `${sandbox.apiBase}/profileAndServicesExt/cusLoyaltyCard/metadata`,
			name: 'cusLoyaltyCard',
			type: 'collection',
		});
		expect(list.body.cusEmailEvent).toBeDefined();
		expect(list.body.profile).toBeUndefined();
		const viaHref = await api('GET', list.body.cusLoyaltyCard.href);
		expect(viaHref.body.name).toBe('cusLoyaltyCard');
	});

	it('describes fields in content and points to the filters, which a second GET lists', async () => {
		const profile = await api('GET', 'profileAndServices/resourceType/profile');
		expect(profile.status).toBe(200);
		expect(profile.body).toMatchObject({
			data: '/profileAndServices/profile/',
			href: `${sandbox.apiBase}/profileAndServices/profile/metadata`,
			label: 'Profiles',
			name: 'profile',
		});
		expect(profile.body.content.gender).toMatchObject({
			apiName: 'gender',
			type: 'enumeration',
			label: 'Gender',
		});
		expect(Object.keys(profile.body.content.gender.values)).toEqual(['unknown', 'male', 'female']);
		expect(profile.body.content.birthDate).toMatchObject({ type: 'date', resType: 'date' });
		// Only attributes Adobe documents: nothing says whether a field is unique or read-only.
		for (const field of Object.values(profile.body.content) as Json[]) {
			expect(Object.keys(field).sort()).toEqual(
				expect.arrayContaining(['apiName', 'category', 'dataPolicy', 'label', 'resType', 'type']),
			);
			for (const key of Object.keys(field)) {
				expect([
					'apiName',
					'category',
					'dataPolicy',
					'label',
					'length',
					'resType',
					'resTarget',
					'type',
					'values',
				]).toContain(key);
			}
		}
		expect(Object.keys(profile.body.filters)).toEqual(['href']);
		const filters = await api('GET', profile.body.filters.href);
		// Under profileAndServices: the out-of-the-box filters only.
		expect(Object.keys(filters.body)).toEqual(['byEmail']);
		expect(filters.body.byEmail).toMatchObject({
			PKey: expect.stringMatching(/^@/),
			data: '/profileAndServices/profile/byEmail?email=$value',
			formType: 'none',
			label: 'By email',
		});
		const ext = await api('GET', 'profileAndServicesExt/resourceType/profile');
		const extFilters = await api('GET', ext.body.filters.href);
		expect(extFilters.body.byExternalId.data).toBe(
			'/profileAndServicesExt/profile/byExternalId?externalId_parameter=$value',
		);

		const card = await api('GET', 'profileAndServicesExt/resourceType/cusLoyaltyCard');
		expect(card.body.content.profile).toMatchObject({ type: 'link', resTarget: 'profile' });
		expect(card.body.content.points).toMatchObject({ type: 'number', resType: 'long' });
		expect(card.body.content.crmId.unique).toBeUndefined();
	});

	it('accepts new resources defined through the admin API, filters named freely', async () => {
		await admin.defineResource({
			name: 'cusStore',
			label: 'Stores',
			fields: [
				{ name: 'storeCode', type: 'string', unique: true },
				{ name: 'open', type: 'boolean' },
			],
			// Filter names need not start with "by" (uc-calling-resource-id-key.md, Campaign v8).
			filters: [{ name: 'identification_key', field: 'storeCode' }],
		});
		await api('POST', 'profileAndServicesExt/cusStore', { storeCode: 'S1', open: true });
		const found = await api(
			'GET',
			'profileAndServicesExt/cusStore/identification_key?storeCode_parameter=S1',
		);
		expect(found.body.content[0]).toMatchObject({ storeCode: 'S1', open: true });
		await expect(admin.defineResource({ name: 'bad name', fields: [] })).rejects.toThrow(
			/not a valid API name/,
		);
	});

	it('serves resources not linked to the profile under customResources only', async () => {
		await admin.defineResource({
			name: 'cusCatalog',
			label: 'Catalog',
			linkedToProfile: false,
			fields: [{ name: 'sku', type: 'string' }],
		});
		await admin.insert('cusCatalog', [{ sku: 'A-1' }]);
		const listed = await api('GET', 'customResources/cusCatalog');
		expect(listed.body.content).toEqual([expect.objectContaining({ sku: 'A-1' })]);
		expect(listed.body.content[0].href).toContain('/customResources/cusCatalog/');
		const described = await api('GET', 'customResources/resourceType/cusCatalog');
		expect(described.body.content.sku).toMatchObject({ type: 'string' });
		expect((await api('GET', 'profileAndServicesExt/cusCatalog')).status).toBe(404);
		expect((await api('GET', 'profileAndServicesExt/')).body.cusCatalog).toBeUndefined();
	});
});

describe('Campaign v8 after migration', () => {
	it('changes PKeys between answers, accepts any of them, and answers an empty PATCH with 204', async () => {
		const [stored] = await admin.insert('profile', [{ email: 'v8@example.com', externalId: 'v8' }]);
		await admin.setOptions({ flavor: 'v8' });
		const first = (
			await api('GET', 'profileAndServicesExt/profile/byExternalId?externalId_parameter=v8')
		).body.content[0];
		const second = (
			await api('GET', 'profileAndServicesExt/profile/byExternalId?externalId_parameter=v8')
		).body.content[0];
		expect(first.PKey).not.toBe(second.PKey);
		expect(first.PKey).not.toBe(stored.PKey);
		expect((await api('PATCH', first.href, { firstName: 'Eight' })).status).toBe(200);
		expect((await api('GET', second.href)).body.firstName).toBe('Eight');
		const empty = await fetch(first.href, {
			method: 'PATCH',
			headers: {
				Authorization: `Bearer ${token}`,
				'X-Api-Key': clientId,
				'Content-Type': 'application/json',
			},
			body: '{}',
		});
		expect(empty.status).toBe(204);
		const bad = await api('GET', 'profileAndServicesExt/profile/@jksad');
		expect(bad.status).toBe(404);
		expect(bad.body).toBe('Unable to decrypt PKey. (PKey=@jksad)');
		const invalid = await api('POST', 'profileAndServicesExt/profile', { gender: 'invalid' });
		expect(invalid.status).toBe(500);
		expect(invalid.body.message).toBe('An error has occurred - please contact your administrator.');
	});
});

describe('Email events: the resource, filters and workflow of docs/CAMPAIGN-SETUP.md', () => {
	const EVENTS = 'profileAndServicesExt/cusEmailEvent';

	it('lists the two filter definitions with the parameters Campaign generated', async () => {
		const metadata = await api(
			'GET',
			`${EVENTS.replace('/cusEmailEvent', '/resourceType/cusEmailEvent')}`,
		);
		expect(Object.keys(metadata.body.content)).toEqual(
			expect.arrayContaining(['eventId', 'type', 'profile', 'lastModified', 'created']),
		);
		const filters = await api('GET', metadata.body.filters.href);
		expect(filters.body.byModifiedSince.data).toBe(
			'/profileAndServicesExt/cusEmailEvent/byModifiedSince?modifiedSince_parameter=$value',
		);
		expect(filters.body.byEventId.data).toBe(
			'/profileAndServicesExt/cusEmailEvent/byEventId?eventId_parameter=$value',
		);
		// Custom filters exist under the Ext API only (CS help/api/using/filtering.md).
		expect((await api('GET', 'profileAndServices/cusEmailEvent/byModifiedSince')).status).toBe(404);
	});

	it('returns the events modified at or after the parameter, in the order asked, paging with next', async () => {
		await admin.generateProfiles({ count: 20, seed: 9 });
		// Three executions a few milliseconds apart: dates are the time of the write, shared by
		// writes in the same millisecond.
		for (let i = 0; i < 3; i++) {
			await admin.simulateDelivery({ count: 10, seed: 1 + i, runWorkflow: false });
			await admin.runEmailEventsWorkflow({ batchSize: 4 });
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
		const all = (await admin.dump('cusEmailEvent')).records;
		const dates = [...new Set(all.map((e) => String(e.lastModified)))].sort();
		expect(dates.length).toBeGreaterThan(2);
		const since = dates[1];
		const read = await readAll(
			`${EVENTS}/byModifiedSince?modifiedSince_parameter=${encodeURIComponent(since)}&_order=lastModified&_lineCount=3`,
		);
		expect(read.map((e) => e.eventId).sort()).toEqual(
			all
				.filter((e) => String(e.lastModified) >= since)
				.map((e) => e.eventId)
				.sort(),
		);
		const order = read.map((e) => String(e.lastModified));
		expect(order).toEqual([...order].sort());
		// A date in ISO 8601 works as well as Campaign's own format.
		const iso = since.replace(' ', 'T');
		const again = await api(
			'GET',
			`${EVENTS}/byModifiedSince?modifiedSince_parameter=${iso}&_lineCount=1000`,
		);
		expect(again.body.content).toHaveLength(read.length);
		const missing = await api('GET', `${EVENTS}/byModifiedSince?_lineCount=3`);
		expect(missing.status).toBe(400);
	});

	it('fills the resource from the logs as the documented workflow does: hard bounces only, Update data changes only what differs', async () => {
		await admin.generateProfiles({ count: 40, seed: 4 });
		const delivery = await admin.simulateDelivery({
			count: 40,
			seed: 3,
			campaignName: 'Été "2025"',
			bounceRate: 0.1,
			softBounceRate: 0.1,
			openRate: 0.5,
			clickRate: 0.5,
			runWorkflow: false,
		});
		expect(delivery.softBounces).toBeGreaterThan(0);
		expect((await admin.dump('cusEmailEvent')).count).toBe(0);
		// The logs are no REST resources.
		expect((await api('GET', 'profileAndServicesExt/broadLogRcp')).status).toBe(404);
		expect((await admin.dump('broadLogRcp')).count).toBe(40);

		const run = await admin.runEmailEventsWorkflow({ batchSize: 25 });
		const events = (await admin.dump('cusEmailEvent')).records;
		const count = (type: string) => events.filter((e) => e.type === type).length;
		expect(count('send')).toBe(40);
		expect(count('bounce')).toBe(delivery.events.bounce);
		expect(count('open')).toBe(delivery.events.open);
		expect(count('click')).toBe(delivery.events.click);
		expect(run.inserted).toBe(events.length);
		// One lastModified per batch of the Update data activity (batches written in the same
		// millisecond share it too).
		expect(new Set(events.map((e) => e.lastModified)).size).toBeLessThanOrEqual(
			Math.ceil(events.length / 25),
		);
		// The dump is in insertion order: each batch of 25 shares its first record's date.
		events.forEach((e, i) => expect(e.lastModified).toBe(events[i - (i % 25)].lastModified));
		expect(events.every((e) => e.campaignName === 'Été "2025"')).toBe(true);
		expect(
			events
				.filter((e) => e.type === 'click')
				.every((e) => /^https:\/\//.test(String(e.clickedUrl))),
		).toBe(true);

		// The incremental query reads only logs changed since its last execution.
		const idle = await admin.runEmailEventsWorkflow();
		expect(idle).toMatchObject({ logsRead: 0, inserted: 0, updated: 0 });
		const after = (await admin.dump('cusEmailEvent')).records;
		expect(after.map((e) => e.lastModified)).toEqual(events.map((e) => e.lastModified));
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
	it('answers what Campaign refuses with 500 and its message, and keeps serving', async () => {
		const cases: [string, string, unknown, RegExp][] = [
			[
				'POST',
				'profileAndServices/profile',
				{ shoeSize: 4 },
				/'shoeSize' property is not valid for the 'profile' resource/,
			],
			[
				'POST',
				'profileAndServices/profile',
				{ gender: 'other' },
				/The value 'other' is not valid for the 'nms:recipient:gender' enumeration of the '@gender' field/,
			],
			['POST', 'profileAndServices/profile', { birthDate: '31/12/1990' }, /birthDate/],
			['POST', 'profileAndServices/profile', { blackList: 'yes' }, /blackList/],
			['POST', 'profileAndServices/profile', { firstName: 'x'.repeat(31) }, /longer than 30/],
			[
				'GET',
				'profileAndServices/profile/@doesNotExist',
				undefined,
				/'doesNotExist' attribute unknown .*XTK-170036 Unable to parse expression '@id = @doesNotExist'/,
			],
			['PATCH', 'profileAndServices/profile/@nope', { email: 'x' }, /XTK-170036/],
		];
		for (const [method, path, body, message] of cases) {
			const response = await api(method, path, body);
			expect({ path, status: response.status }).toEqual({ path, status: 500 });
			expect(response.body.code).toBe(500);
			expect(response.body.message).toMatch(/(RST|XTK)-\d+ /);
			expect(response.body.message).toMatch(message);
		}
		expect((await api('GET', 'profileAndServices/profile')).status).toBe(200);
	});

	it('answers an unknown record or resource with 404 and a bare string', async () => {
		const missing = await api('GET', `profileAndServices/profile/@${'A'.repeat(44)}`);
		expect(missing.status).toBe(404);
		expect(missing.body).toMatch(/^RST-360011 .*@A{44}/);
		const noResource = await api('GET', 'profileAndServicesExt/cusNothing');
		expect(noResource.status).toBe(404);
		expect(noResource.body).toMatch(/Unknown resource 'cusNothing'/);
	});

	it('answers requests it cannot read with 400 (an assumption: Adobe documents none)', async () => {
		const cases: [string, string, unknown, RegExp][] = [
			['POST', 'profileAndServices/profile', '{not json', /not valid JSON/],
			['GET', 'profileAndServices/profile?_lineCount=100000', undefined, /_lineCount/],
			['GET', 'profileAndServices/profile?_order=shoeSize', undefined, /order/],
			['GET', 'profileAndServices/profile/byShoeSize?shoeSize=1', undefined, /byShoeSize/],
			['GET', 'profileAndServices/profile?_lineStart=garbage', undefined, /_lineStart/],
		];
		for (const [method, path, body, message] of cases) {
			const response = await api(method, path, body);
			expect({ path, status: response.status }).toEqual({ path, status: 400 });
			expect(response.body.message).toMatch(/^RST-360011 /);
			expect(response.body.message).toMatch(message);
		}
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

	it('serves a number of requests at a time when asked to, telling how long each held its place', async () => {
		await admin.setLatency(300);
		await admin.setFaults({ maxConcurrent: 2, retryAfter: 1 });
		try {
			const statuses = (
				await Promise.all(Array.from({ length: 5 }, () => api('GET', 'profileAndServices/profile')))
			).map((r) => r.status);
			expect(statuses.filter((s) => s === 200).length).toBe(2);
			expect(statuses.filter((s) => s === 429).length).toBe(3);
			const { held, injected } = await admin.getFaults();
			expect(injected?.['429']).toBe(3);
			expect(held?.requests).toBe(2);
			expect(held!.ms).toBeGreaterThanOrEqual(2 * 300);
		} finally {
			await admin.setFaults({});
			await admin.setLatency(0);
		}
	});

	it('throttles beyond a rate when asked to, counting only the requests it served', async () => {
		await admin.setFaults({ maxPerSecond: 5, retryAfter: 1 });
		try {
			const statuses = (
				await Promise.all(
					Array.from({ length: 20 }, () => api('GET', 'profileAndServices/profile')),
				)
			).map((r) => r.status);
			// A bucket of one second's worth: five go through at once, then five more a second.
			const served = statuses.filter((s) => s === 200).length;
			expect(served).toBeGreaterThanOrEqual(5);
			expect(served).toBeLessThan(10);
			expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
			expect((await admin.getFaults()).injected?.['429']).toBe(
				statuses.filter((s) => s === 429).length,
			);
			await new Promise((resolve) => setTimeout(resolve, 1100));
			expect((await api('GET', 'profileAndServices/profile')).status).toBe(200);
		} finally {
			await admin.setFaults({});
		}
	});
});
