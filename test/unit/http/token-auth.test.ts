import {
	campaignApiRoot,
	campaignTokenRequest,
	describeCampaignTokenFailure,
	normalizeScopes,
} from '../../../lib/campaign/auth';
import { describeDynamicsTokenFailure, dynamicsTokenRequest } from '../../../lib/dynamics/auth';
import { readAccessToken, scrubSecret } from '../../../lib/http';

const SECRET = 'p@ss word/+=&secret';
const dynamics = {
	environmentUrl: 'https://contoso.crm4.dynamics.com/',
	tenantId: 'contoso.onmicrosoft.com',
	clientId: 'app-id',
	clientSecret: SECRET,
};
const campaign = { organizationId: 'contoso-mkt-prod1', clientId: 'key', clientSecret: SECRET };

describe('Token requests', () => {
	it('asks Entra ID for the environment’s .default scope', () => {
		const req = dynamicsTokenRequest(dynamics);
		expect(req.url).toBe(
			'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
		);
		expect(req.headers['Content-Type']).toBe('application/x-www-form-urlencoded');
		const form = new URLSearchParams(req.body);
		expect(Object.fromEntries(form)).toEqual({
			grant_type: 'client_credentials',
			client_id: 'app-id',
			client_secret: SECRET,
			scope: 'https://contoso.crm4.dynamics.com/.default',
		});
	});

	it('asks Adobe IMS with a clean comma-separated scope list', () => {
		const req = campaignTokenRequest({
			...campaign,
			scopes: ' openid, AdobeID  campaign_sdk,',
			imsHost: 'https://ims-na1.adobelogin.com/',
		});
		expect(req.url).toBe('https://ims-na1.adobelogin.com/ims/token/v3');
		expect(new URLSearchParams(req.body).get('scope')).toBe('openid,AdobeID,campaign_sdk');
		expect(normalizeScopes('')).toContain('campaign_sdk');
		expect(campaignApiRoot({ organizationId: 'org', apiBaseUrl: 'https://mc.adobe.io/' })).toBe(
			'https://mc.adobe.io/org/campaign',
		);
	});

	it('reads a token and its lifetime only from a successful answer', () => {
		expect(readAccessToken({ status: 200, body: { access_token: 't', expires_in: 3599 } })).toEqual(
			{
				accessToken: 't',
				expiresInSeconds: 3599,
			},
		);
		expect(readAccessToken({ status: 200, body: '{"access_token":"t"}' })?.accessToken).toBe('t');
		expect(readAccessToken({ status: 400, body: { access_token: 't' } })).toBeUndefined();
		expect(readAccessToken({ status: 200, body: {} })).toBeUndefined();
	});
});

describe('Token failure messages', () => {
	it('scrub the secret in every spelling a service might echo', () => {
		const echoed = `bad secret ${SECRET} / ${encodeURIComponent(SECRET)} / ${new URLSearchParams({ s: SECRET }).toString().slice(2)}`;
		const text = scrubSecret(echoed, SECRET);
		expect(text).toBe('bad secret [redacted] / [redacted] / [redacted]');
	});

	it('name the Client Secret for an expired secret and never include it', () => {
		const message = describeDynamicsTokenFailure(
			{
				status: 401,
				body: {
					error: 'invalid_client',
					error_description: `AADSTS7000222: The provided client secret keys are expired. ${SECRET}`,
				},
			},
			dynamics,
		);
		expect(message).toMatch(/Client Secret has expired/);
		expect(message).not.toContain(SECRET);
	});

	it('point at the Authority Host or Tenant ID when the address is not a token endpoint', () => {
		const message = describeDynamicsTokenFailure(
			{ status: 404, body: '<html>Not Found</html>' },
			dynamics,
		);
		expect(message).toMatch(
			/Authority Host https:\/\/login\.microsoftonline\.com or the Tenant ID is wrong/,
		);
	});

	it('point at the host when it answers 200 without a token', () => {
		expect(
			describeDynamicsTokenFailure({ status: 200, body: '<html>portal</html>' }, dynamics),
		).toMatch(/answered without an access token: check the Authority Host/);
		expect(describeCampaignTokenFailure({ status: 200, body: {} }, campaign)).toMatch(
			/check the IMS Host/,
		);
	});

	it('fall back to the generic invalid_client hint for Adobe IMS', () => {
		expect(
			describeCampaignTokenFailure(
				{ status: 400, body: { error: 'invalid_client', error_description: '' } },
				campaign,
			),
		).toMatch(/Client ID or the Client Secret is wrong/);
	});
});
