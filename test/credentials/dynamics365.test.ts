import { Dynamics365Api } from '../../credentials/Dynamics365Api.credentials';
import { n8nTransport, type HttpResponse } from '../../lib/http';
import { startDataverseSandbox, type DataverseSandbox } from '../../sandbox/dataverse';
import { DataverseSandboxAdmin } from '../../sandbox/dataverse/admin';
import { SANDBOX_DEFAULTS } from '../../sandbox/defaults';
import { axiosTransport } from '../../sandbox/harness/axios-transport';
import { dynamicsTokens, sandboxDynamicsSettings } from '../../sandbox/harness/tokens';
import { n8nTestContext, type N8nTestContextOptions } from '../unit/http/n8n-context';
import { ENVIRONMENT_URL_EXPRESSION, environmentUrlOf } from '../../lib/dynamics/auth';
import { resolveCredentialExpression, runCredentialTest } from './credential-test';

const credential = new Dynamics365Api();
const defaults = SANDBOX_DEFAULTS.dataverse;
const WRONG_SECRET = 'not-the-secret-Zq9!';

let sandbox: DataverseSandbox;
beforeAll(async () => {
	sandbox = await startDataverseSandbox({ port: 0, demoRecords: 0 });
});
afterAll(async () => await sandbox.close());
beforeEach(() => {
	sandbox.server.setFaults({});
	sandbox.server.resetCounters();
});

function context(overrides: Record<string, string> = {}, options: N8nTestContextOptions = {}) {
	return n8nTestContext(
		credential,
		{
			environmentUrl: sandbox.url,
			tenantId: defaults.tenantId,
			clientId: defaults.clientId,
			clientSecret: defaults.clientSecret,
			authorityHost: sandbox.url,
			...overrides,
		},
		options,
	);
}

function whoAmI(c: ReturnType<typeof context>): Promise<HttpResponse> {
	return n8nTransport(c.ctx, 'dynamics365Api').request({
		method: 'GET',
		url: `${sandbox.url}/api/data/v9.2/WhoAmI`,
	});
}

const tokenRequests = () => sandbox.server.getCounters()['POST token'] ?? 0;

describe('Microsoft Dynamics 365 (Dataverse) API credential', () => {
	it('gets a token from the authority, sends it as a bearer token and passes its test request', async () => {
		const c = context();
		const result = await runCredentialTest(credential, c);
		expect(result.status).toBe(200);
		expect(result.body).toMatchObject({
			UserId: expect.any(String),
			OrganizationId: expect.any(String),
		});
		expect(tokenRequests()).toBe(1);
	});

	it('authenticates node requests through n8n with one token request for several calls', async () => {
		const c = context();
		const first = await whoAmI(c);
		const second = await whoAmI(c);
		expect(first.status).toBe(200);
		expect(second.body).toMatchObject({ UserId: expect.any(String) });
		expect(c.tokenRuns()).toBe(1);
		expect(c.credentials.getStored('dynamics365Api')?.accessToken).toEqual(expect.any(String));
	});

	it('names the Client Secret when the secret is wrong, without ever showing it', async () => {
		const c = context({ clientSecret: WRONG_SECRET });
		const error = (await whoAmI(c).catch((e: unknown) => e)) as Error;
		expect(error).toBeInstanceOf(Error);
		expect(error.message).toContain('Client Secret is wrong');
		expect(error.message).toContain('AADSTS7000215');
		expect(JSON.stringify(error)).not.toContain(WRONG_SECRET);
		expect(String(error.stack)).not.toContain(WRONG_SECRET);
		await expect(runCredentialTest(credential, c)).rejects.toThrow(/Client Secret/);
	});

	it.each([
		['tenantId', '99999999-2222-3333-4444-555555555555', /Tenant ID is wrong/],
		['clientId', '00000000-bbbb-cccc-dddd-eeeeeeeeeeee', /Client ID is wrong/],
		['environmentUrl', 'https://other.crm.dynamics.com', /Environment URL is wrong/],
	])('names the field when %s is wrong', async (field, value, message) => {
		const c = context({ [field]: value });
		await expect(runCredentialTest(credential, c)).rejects.toThrow(message);
	});

	it('accepts the Web API endpoint the admin center shows, in any case, and keeps the environment URL it used', async () => {
		const pasted = `  ${sandbox.url.toUpperCase()}/API/data/v9.2/  `;
		const c = context({ environmentUrl: pasted });
		const result = await runCredentialTest(credential, c);
		expect(result.status).toBe(200);
		expect(result.body).toMatchObject({ UserId: expect.any(String) });
		expect((await whoAmI(c)).status).toBe(200);
		expect(c.credentials.getStored('dynamics365Api')?.environmentUrl).toBe(sandbox.url);
	});

	it("derives the test request's environment URL in n8n's expression engine as the client does", async () => {
		for (const pasted of [
			'https://org.api.crm4.dynamics.com/api/data/v9.2/',
			'HTTPS://ORG.API.CRM4.DYNAMICS.COM/api/data/v9.2',
			'https://org.crm.dynamics.com///',
			' org.crm.dynamics.com ',
			'https://contoso.api.crm.microsoftdynamics.us/api/data/v9.2/',
			'https://org.crm4.dynamics.com/main.aspx?appid=1#x',
			`${sandbox.url}/api/data/v9.2/`,
		]) {
			expect(
				await resolveCredentialExpression(ENVIRONMENT_URL_EXPRESSION, { environmentUrl: pasted }),
			).toBe(environmentUrlOf(pasted));
		}
	});

	it('says which token scope it asked for when the environment is wrong', async () => {
		const c = context({ environmentUrl: 'https://other.api.crm4.dynamics.com/api/data/v9.2/' });
		await expect(runCredentialTest(credential, c)).rejects.toThrow(
			/for the scope https:\/\/other\.crm4\.dynamics\.com\/\.default: the Environment URL is wrong/,
		);
	});

	it('names the Authority Host when nothing answers there', async () => {
		const c = context({ authorityHost: 'http://127.0.0.1:9' });
		await expect(runCredentialTest(credential, c)).rejects.toThrow(
			/Authority Host http:\/\/127\.0\.0\.1:9 could not be reached.*ECONNREFUSED/,
		);
	});

	it('refreshes an expired token exactly once and repeats the request', async () => {
		const c = context();
		expect((await whoAmI(c)).status).toBe(200);
		sandbox.server.setFaults({ script: [{ kind: 'tokenExpiry', route: '^api$' }] });
		const res = await whoAmI(c);
		expect(res.status).toBe(200);
		expect(c.tokenRuns()).toBe(2);
		expect(tokenRequests()).toBe(2);
		expect(sandbox.server.getCounters()['GET api']).toBe(3);
	});

	it('refreshes an expired token on n8n 1.x too, whose helper hands every 401 back as an answer', async () => {
		const c = context({}, { n8nV1StatusHandling: true });
		expect((await whoAmI(c)).status).toBe(200);
		await new DataverseSandboxAdmin(sandbox.url).expireTokens();
		const res = await whoAmI(c);
		expect(res.status).toBe(200);
		expect(c.tokenRuns()).toBe(2);
		expect(tokenRequests()).toBe(2);
		// The 401, the request again with status errors on (n8n refreshes there), its repeat.
		expect(sandbox.server.getCounters()['GET api']).toBe(4);
	});

	it('on n8n 1.x, still answers other error statuses as responses with the service body', async () => {
		const c = context({}, { n8nV1StatusHandling: true });
		expect((await whoAmI(c)).status).toBe(200);
		await new DataverseSandboxAdmin(sandbox.url).expireTokens();
		const res = await n8nTransport(c.ctx, 'dynamics365Api').request({
			method: 'GET',
			url: `${sandbox.url}/api/data/v9.2/contacts(00000000-0000-0000-0000-00000000dead)`,
		});
		expect(res.status).toBe(404);
		expect(res.body).toMatchObject({ error: { code: expect.any(String) } });
		expect(c.tokenRuns()).toBe(2);
	});

	it('returns the second 401 as a response instead of refreshing again', async () => {
		const c = context();
		sandbox.server.setFaults({
			script: [
				{ kind: 'tokenExpiry', route: '^api$' },
				{ kind: 'tokenExpiry', route: '^api$' },
			],
		});
		const res = await whoAmI(c);
		expect(res.status).toBe(401);
		expect(c.tokenRuns()).toBe(2);
		expect(sandbox.server.getCounters()['GET api']).toBe(2);
	});
});

describe('Dataverse tokens outside n8n', () => {
	it('fetch a token once, then again only after the token lifetime ran out', async () => {
		const shortLived = await startDataverseSandbox({
			port: 0,
			demoRecords: 0,
			tokenLifetimeSeconds: 1,
		});
		const tokens = dynamicsTokens(sandboxDynamicsSettings(shortLived.url), { refreshMarginMs: 0 });
		const transport = axiosTransport({ auth: tokens });
		try {
			const url = `${shortLived.url}/api/data/v9.2/WhoAmI`;
			expect((await transport.request({ method: 'GET', url })).status).toBe(200);
			expect((await transport.request({ method: 'GET', url })).status).toBe(200);
			expect(tokens.fetches).toBe(1);
			await new Promise((resolve) => setTimeout(resolve, 1100));
			expect((await transport.request({ method: 'GET', url })).status).toBe(200);
			expect(tokens.fetches).toBe(2);
		} finally {
			transport.close();
			tokens.close();
			await shortLived.close();
		}
	});

	it('refresh once on a 401 and give the same clear message for a wrong secret', async () => {
		const tokens = dynamicsTokens(sandboxDynamicsSettings(sandbox.url));
		const transport = axiosTransport({ auth: tokens });
		try {
			sandbox.server.setFaults({ script: [{ kind: 'tokenExpiry', route: '^api$' }] });
			const res = await transport.request({
				method: 'GET',
				url: `${sandbox.url}/api/data/v9.2/WhoAmI`,
			});
			expect(res.status).toBe(200);
			expect(tokens.fetches).toBe(2);

			const wrong = dynamicsTokens(
				sandboxDynamicsSettings(sandbox.url, { clientSecret: WRONG_SECRET }),
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
