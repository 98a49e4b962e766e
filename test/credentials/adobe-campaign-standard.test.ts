import { AdobeCampaignStandardApi } from '../../credentials/AdobeCampaignStandardApi.credentials';
import { n8nTransport, type HttpResponse } from '../../lib/http';
import { startCampaignSandbox, type CampaignSandbox } from '../../sandbox/campaign';
import { SANDBOX_DEFAULTS } from '../../sandbox/defaults';
import { axiosTransport } from '../../sandbox/harness/axios-transport';
import { campaignTokens, sandboxCampaignSettings } from '../../sandbox/harness/tokens';
import { n8nTestContext } from '../unit/http/n8n-context';
import { runCredentialTest } from './credential-test';

const credential = new AdobeCampaignStandardApi();
const defaults = SANDBOX_DEFAULTS.campaign;
const WRONG_SECRET = 'wrong-campaign-secret-7Yx';

let sandbox: CampaignSandbox;
beforeAll(async () => {
	sandbox = await startCampaignSandbox({ port: 0 });
});
afterAll(async () => await sandbox.close());
beforeEach(() => {
	sandbox.server.setFaults({});
	sandbox.server.resetCounters();
});

function context(overrides: Record<string, string> = {}) {
	return n8nTestContext(credential, {
		organizationId: defaults.organizationId,
		clientId: defaults.clientId,
		clientSecret: defaults.clientSecret,
		imsHost: sandbox.url,
		apiBaseUrl: sandbox.url,
		...overrides,
	});
}

function listProfiles(c: ReturnType<typeof context>): Promise<HttpResponse> {
	return n8nTransport(c.ctx, 'adobeCampaignStandardApi').request({
		method: 'GET',
		url: `${sandbox.apiBase}/profileAndServices/profile`,
		qs: { _lineCount: 1 },
	});
}

const tokenRequests = () => sandbox.server.getCounters()['POST ims:token'] ?? 0;
const listRequests = () => sandbox.server.getCounters()['GET campaign:list'] ?? 0;

describe('Adobe Campaign Standard API credential', () => {
	it('gets an IMS token with the default scopes, sends it with X-Api-Key and passes its test request', async () => {
		const c = context();
		// The scopes a Developer Console project with the Campaign API shows for its credential.
		expect(c.credentials.getStored('adobeCampaignStandardApi')?.scopes).toBe(
			'openid,AdobeID,campaign_sdk,additional_info.projectedProductContext,campaign_config_server_general,deliverability_service_general',
		);
		expect(defaults.scopes).toBe(c.credentials.getStored('adobeCampaignStandardApi')?.scopes);
		const result = await runCredentialTest(credential, c);
		expect(result.status).toBe(200);
		expect(result.body).toMatchObject({ content: expect.any(Array) });
		expect(tokenRequests()).toBe(1);
	});

	it('fails its test request for a wrong Organization ID', async () => {
		const result = await runCredentialTest(credential, context({ organizationId: 'someone-else' }));
		// What Adobe.io answers for a tenant the token is not for (troubleshooting.md).
		expect(result.status).toBe(500);
		expect(result.body).toMatchObject({ message: expect.stringMatching(/Check your URI/) });
	});

	it('authenticates node requests through n8n with one token request for several calls', async () => {
		const c = context();
		expect((await listProfiles(c)).status).toBe(200);
		expect((await listProfiles(c)).status).toBe(200);
		expect(c.tokenRuns()).toBe(1);
		expect(tokenRequests()).toBe(1);
	});

	it('names the Client Secret when the secret is wrong, without ever showing it', async () => {
		const c = context({ clientSecret: WRONG_SECRET });
		const error = (await listProfiles(c).catch((e: unknown) => e)) as Error;
		expect(error).toBeInstanceOf(Error);
		expect(error.message).toContain('Client Secret is wrong');
		expect(JSON.stringify(error)).not.toContain(WRONG_SECRET);
		expect(String(error.stack)).not.toContain(WRONG_SECRET);
		await expect(runCredentialTest(credential, c)).rejects.toThrow(/Client Secret/);
	});

	it.each([
		['clientId', 'unknown-client', /Client ID is wrong/],
		['scopes', 'openid,AdobeID,not_a_scope', /Scopes are wrong.*not_a_scope/],
		['imsHost', 'http://127.0.0.1:9', /IMS Host http:\/\/127\.0\.0\.1:9 could not be reached/],
	])('names the field when %s is wrong', async (field, value, message) => {
		await expect(runCredentialTest(credential, context({ [field]: value }))).rejects.toThrow(
			message,
		);
	});

	it('refreshes an expired token exactly once and repeats the request', async () => {
		const c = context();
		expect((await listProfiles(c)).status).toBe(200);
		sandbox.server.setFaults({ script: [{ kind: 'tokenExpiry', route: '^campaign:list$' }] });
		expect((await listProfiles(c)).status).toBe(200);
		expect(c.tokenRuns()).toBe(2);
		expect(tokenRequests()).toBe(2);
		expect(listRequests()).toBe(3);
	});

	it('lets a transport hand n8n the credential it read once, and sends the token it refreshed with the requests after', async () => {
		const c = context();
		const credentials = await c.ctx.getCredentials('adobeCampaignStandardApi');
		const transport = n8nTransport(c.ctx, 'adobeCampaignStandardApi', { credentials });
		const list = () =>
			transport.request({ method: 'GET', url: `${sandbox.apiBase}/profileAndServices/profile` });
		for (let i = 0; i < 3; i++) expect((await list()).status).toBe(200);
		expect(c.tokenRuns()).toBe(1);
		sandbox.server.setFaults({ script: [{ kind: 'tokenExpiry', route: '^campaign:list$' }] });
		expect((await list()).status).toBe(200);
		for (let i = 0; i < 3; i++) expect((await list()).status).toBe(200);
		// One token, then one more after the 401, which every later request sends.
		expect(c.tokenRuns()).toBe(2);
		expect(tokenRequests()).toBe(2);
		expect(listRequests()).toBe(8);
		// n8n read the credential for none of the requests (the node's own read only).
		expect(c.credentials.reads.get('adobeCampaignStandardApi')).toBe(1);
		// What the node read is left as it was.
		expect(credentials.accessToken ?? '').toBe('');
	});

	it('refreshes once when the token lifetime ran out', async () => {
		const shortLived = await startCampaignSandbox({ port: 0, tokenLifetimeSeconds: 1 });
		try {
			const c = context({ imsHost: shortLived.url, apiBaseUrl: shortLived.url });
			const list = () =>
				n8nTransport(c.ctx, 'adobeCampaignStandardApi').request({
					method: 'GET',
					url: `${shortLived.apiBase}/profileAndServices/profile`,
				});
			expect((await list()).status).toBe(200);
			await new Promise((resolve) => setTimeout(resolve, 1100));
			expect((await list()).status).toBe(200);
			expect(c.tokenRuns()).toBe(2);
			expect(shortLived.server.getCounters()['GET campaign:list']).toBe(3);
		} finally {
			await shortLived.close();
		}
	});
});

describe('Campaign tokens outside n8n', () => {
	it('send X-Api-Key, refresh once on a 401 and keep the secret out of failures', async () => {
		const tokens = campaignTokens(sandboxCampaignSettings(sandbox.url));
		const transport = axiosTransport({ auth: tokens });
		try {
			sandbox.server.setFaults({ script: [{ kind: 'tokenExpiry', route: '^campaign:list$' }] });
			const res = await transport.request({
				method: 'GET',
				url: `${sandbox.apiBase}/profileAndServices/profile`,
			});
			expect(res.status).toBe(200);
			expect(tokens.fetches).toBe(2);

			const wrong = campaignTokens(
				sandboxCampaignSettings(sandbox.url, { clientSecret: WRONG_SECRET }),
			);
			const error = (await wrong.getToken().catch((e: unknown) => e)) as Error;
			wrong.close();
			expect(error.message).toMatch(/Client Secret is wrong/);
			expect(error.message).not.toContain(WRONG_SECRET);
		} finally {
			transport.close();
			tokens.close();
		}
	});
});
