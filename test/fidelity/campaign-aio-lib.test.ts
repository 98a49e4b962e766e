/**
 * Adobe's own Campaign Standard SDK against the sandbox. The SDK has no host option: its base URL
 * is the `servers` entry of the OpenAPI description that its swagger-client instance (`sdk`) holds
 * and reads on every call. We point that entry at the sandbox after `init`, keeping the
 * `{ORGANIZATION}` template so the SDK still fills in the tenant id. No library file is changed.
 */
import { SANDBOX_DEFAULTS } from '../../sandbox/defaults';
import {
	CampaignSandboxAdmin,
	startCampaignSandbox,
	type CampaignSandbox,
} from '../../sandbox/campaign';

const { clientId, clientSecret, scopes, organizationId } = SANDBOX_DEFAULTS.campaign;

interface Json {
	[key: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
interface CampaignClient {
	sdk: { spec: Json };
	[method: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

// The SDK ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const campaignSdk = require('@adobe/aio-lib-campaign-standard') as {
	init(tenantId: string, apiKey: string, accessToken: string): Promise<unknown>;
};

let sandbox: CampaignSandbox;
let admin: CampaignSandboxAdmin;
let client: CampaignClient;
let accessToken: string;

/** A GET of an href from an answer, with the headers the SDK sends. */
async function follow(href: string): Promise<Json> {
	const response = await fetch(href, {
		headers: { Authorization: `Bearer ${accessToken}`, 'X-Api-Key': clientId },
	});
	return (await response.json()) as Json;
}

async function initClient(tenantId: string, token: string): Promise<CampaignClient> {
	const created = (await campaignSdk.init(tenantId, clientId, token)) as unknown as CampaignClient;
	created.sdk.spec = {
		...created.sdk.spec,
		servers: [
			{
				url: `${sandbox.url}/{ORGANIZATION}/campaign`,
				variables: { ORGANIZATION: { default: organizationId } },
			},
		],
	};
	return created;
}

beforeAll(async () => {
	sandbox = await startCampaignSandbox({ port: 0, seed: 11 });
	admin = new CampaignSandboxAdmin(sandbox.url);
	const response = await fetch(`${sandbox.url}/ims/token/v3`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({
			grant_type: 'client_credentials',
			client_id: clientId,
			client_secret: clientSecret,
			scope: scopes,
		}).toString(),
	});
	accessToken = ((await response.json()) as Json).access_token;
	client = await initClient(organizationId, accessToken);
});

afterAll(async () => {
	await sandbox.close();
});

beforeEach(async () => {
	await admin.reset({ seed: 11 });
});

describe('@adobe/aio-lib-campaign-standard against the Campaign sandbox', () => {
	it('lists profiles page by page (getAllProfiles + next.href), in ascending and descending order', async () => {
		await admin.generateProfiles({ count: 57, seed: 2 });
		const first = await client.getAllProfiles({ lineCount: 20, order: 'email' });
		expect(first.status).toBe(200);
		expect(first.body.content).toHaveLength(20);
		const emails: string[] = first.body.content.map((p: Json) => p.email);
		let next: string | undefined = first.body.next?.href;
		while (next) {
			// Users follow `next.href` as is, with the same headers the SDK sends.
			const page = (await (
				await fetch(next, {
					headers: { Authorization: `Bearer ${accessToken}`, 'X-Api-Key': clientId },
				})
			).json()) as Json;
			emails.push(...page.content.map((p: Json) => p.email));
			next = page.next?.href;
		}
		expect(emails).toHaveLength(57);
		expect(emails).toEqual([...emails].sort());

		const descending = await client.getAllProfiles({
			lineCount: 5,
			order: 'email',
			descendingSort: true,
		});
		expect(descending.body.content.map((p: Json) => p.email)).toEqual(
			[...emails].sort().reverse().slice(0, 5),
		);
	});

	it('filters profiles with the standard and the Ext filter paths', async () => {
		const [profile] = await admin.insert('profile', [
			{ email: `zoë.o'neil@example.com`, externalId: 'contact-42' },
		]);
		const byEmail = await client.getAllProfiles({
			filters: ['byEmail'],
			email: `zoë.o'neil@example.com`,
		});
		expect(byEmail.body.content.map((p: Json) => p.PKey)).toEqual([profile.PKey]);
		// A custom filter: under the Ext path, with the parameter name Campaign generated.
		const byExternalId = await client.getAllProfiles({
			filters: ['byExternalId'],
			hasCustomFilter: true,
			externalId_parameter: 'contact-42',
		});
		expect(byExternalId.body.content[0].href).toContain('/profileAndServicesExt/profile/');
	});

	it('creates, reads and updates a profile', async () => {
		const created = await client.createProfile({
			email: 'nguyen@example.com',
			firstName: 'Nguyễn',
			externalId: 'c-7',
		});
		expect(created.status).toBe(201);
		const pkey = created.body.PKey;
		const updated = await client.updateProfile(pkey, { lastName: 'Văn A', blackListEmail: true });
		expect(updated.body).toEqual({ PKey: pkey, href: expect.stringContaining(pkey) });
		const read = await client.getProfile(pkey);
		expect(read.body).toMatchObject({
			firstName: 'Nguyễn',
			lastName: 'Văn A',
			blackListEmail: true,
			blackListEmailLastModified: read.body.lastModified,
			externalId: 'c-7',
		});
		// The SDK shows Campaign's bare-string 404 body as adobe/aio-lib-campaign-standard#51 reports it.
		await expect(client.getProfile(`@${'Q'.repeat(44)}`)).rejects.toThrow(
			/404 - Not Found \("RST-360011 An error has occurred - please contact your administrator\./,
		);
		await expect(client.getProfile('@missing')).rejects.toThrow(/500.*XTK-170036/);
		await expect(client.createProfile({ gender: 'other' })).rejects.toThrow(
			/500.*The value 'other' is not valid for the 'nms:recipient:gender' enumeration/,
		);
	});

	it('reads metadata, its filters href and the list of custom resources', async () => {
		const metadata = await client.getMetadataForResource('profile');
		expect(Object.keys(metadata.body.content)).toEqual(
			expect.arrayContaining([
				'email',
				'externalId',
				'blackList',
				'blackListLastModified',
				'ccpaOptOut',
			]),
		);
		// The filters are not inline: the metadata points to them (metadata-mechanism.md).
		expect(Object.keys(metadata.body.filters)).toEqual(['href']);
		// The SDK's getDataFromRelativeUrl encodes slashes, so the href is followed as users follow
		// next.href: as is, with the SDK's headers.
		const filters = await follow(metadata.body.filters.href);
		expect(filters.byEmail.data).toBe('/profileAndServices/profile/byEmail?email=$value');
		const resources = await client.getCustomResources();
		expect(resources.body.apiName).toBe('resourceType');
		expect(resources.body.cusLoyaltyCard.data).toBe('/profileAndServicesExt/cusLoyaltyCard/');
	});

	it('creates, lists, filters, updates and deletes custom resource records', async () => {
		const created = await client.createCustomResource('cusLoyaltyCard', {
			crmId: 'CRM-9',
			cardNumber: '9999',
			points: 10,
			tier: 'silver',
		});
		expect(created.status).toBe(201);
		const pkey = created.body.PKey;
		await client.updateCustomResource('cusLoyaltyCard', pkey, { points: 25 });
		const filtered = await client.getAllProfileAndServicesExt('cusLoyaltyCard', {
			filters: ['byCrmId'],
			crmId_parameter: 'CRM-9',
		});
		expect(filtered.body.content).toEqual([expect.objectContaining({ PKey: pkey, points: 25 })]);
		const basic = await client.getAllBasicCustomResources('cusLoyaltyCard');
		expect(basic.body.content).toHaveLength(1);
		// crmId is an identification key here: Campaign refuses the duplicate with 500.
		await expect(client.createCustomResource('cusLoyaltyCard', { crmId: 'CRM-9' })).rejects.toThrow(
			/500.*PGS-220000.*duplicate key value violates unique constraint/,
		);
		await client.deleteCustomResource('cusLoyaltyCard', pkey);
		const after = await client.getAllProfileAndServicesExt('cusLoyaltyCard', {});
		expect(after.body.content).toEqual([]);
	});

	it('writes a link as {"PKey"} and reads it back with the linked record\'s PKey and href', async () => {
		// CS help/api/using/updating-profile-organizational-unit.md (PATCH {"orgUnit":{"PKey":…}}),
		// perform-subscriptions.md (POST {"service":{"PKey":…}}), retrieving-subscriptions.md (read).
		const [first, second] = (
			await admin.insert('profile', [{ externalId: 'P-1' }, { externalId: 'P-2' }])
		).map((p) => p.PKey);
		const created = await client.createCustomResource('cusLoyaltyCard', {
			crmId: 'CRM-L',
			profile: { PKey: first },
		});
		const pkey = created.body.PKey;
		const read = async () =>
			(
				await client.getAllProfileAndServicesExt('cusLoyaltyCard', {
					filters: ['byCrmId'],
					crmId_parameter: 'CRM-L',
				})
			).body.content[0].profile;
		const linked = await read();
		expect(linked).toEqual({
			PKey: first,
			href: expect.stringMatching(new RegExp(`/profile/${first}$`)),
		});
		await client.updateCustomResource('cusLoyaltyCard', pkey, { profile: { PKey: second } });
		expect((await read()).PKey).toBe(second);
		// The href reads the linked record, with its fields (its key among them).
		expect((await follow((await read()).href)).externalId).toBe('P-2');
		// A link to a record that does not exist is refused, as an invalid PKey.
		await expect(
			client.updateCustomResource('cusLoyaltyCard', pkey, {
				profile: { PKey: `@${'Z'.repeat(44)}` },
			}),
		).rejects.toThrow(/500/);
	});

	it('surfaces auth errors the way the real gateway shapes them', async () => {
		const forged = await initClient(organizationId, 'forged-token');
		await expect(forged.getAllProfiles({})).rejects.toThrow(/401.*Oauth token is not valid/);
	});

	it('pages a table above the big-table threshold only with _forcePagination=true', async () => {
		await admin.generateProfiles({ count: 12, seed: 3 });
		await admin.setOptions({ bigTableThreshold: 10 });
		const unforced = await client.getAllProfiles({ lineCount: 5 });
		expect(unforced.body.content).toHaveLength(5);
		expect(unforced.body.next).toBeUndefined();
		// getAllProfiles has no option for it: the parameter goes on the URL, as Adobe's page shows.
		const forced = {
			body: await follow(
				`${sandbox.apiBase}/profileAndServices/profile?_lineCount=5&_forcePagination=true`,
			),
		};
		expect(forced.body.next.href).toContain('_forcePagination=true');
	});

	it('reads the email event resource through its custom modified-since filter, ordered by lastModified', async () => {
		await admin.generateProfiles({ count: 6, seed: 5 });
		// Two deliveries, each exported by its own workflow run some milliseconds apart: the
		// sandbox stamps the time of the write, so the second run's events are modified later
		// (one run's batches may share a millisecond).
		for (const seed of [6, 7]) {
			await admin.simulateDelivery({ count: 6, seed, openRate: 1, runWorkflow: false });
			await admin.runEmailEventsWorkflow({ batchSize: 4 });
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
		const all = (await admin.dump('cusEmailEvent')).records;
		const dates = [...new Set(all.map((e) => String(e.lastModified)))].sort();
		expect(dates.length).toBeGreaterThanOrEqual(2);
		const read = await client.getAllProfileAndServicesExt('cusEmailEvent', {
			filters: ['byModifiedSince'],
			hasCustomFilter: true,
			modifiedSince_parameter: dates[1],
			order: 'lastModified',
			lineCount: 100,
		});
		const events: Json[] = read.body.content;
		expect(events.map((e) => e.eventId).sort()).toEqual(
			all
				.filter((e) => String(e.lastModified) >= dates[1])
				.map((e) => e.eventId)
				.sort(),
		);
		expect(events.map((e) => e.lastModified)).toEqual(
			[...events.map((e) => e.lastModified)].sort(),
		);
		expect(events[0].profile.href).toContain('/profileAndServicesExt/profile/@');
	});
});
