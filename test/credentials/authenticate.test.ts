/**
 * Both credentials authenticate with a function: n8n calls it as it is, where the generic form
 * (`'=Bearer {{$credentials.accessToken}}'`) has n8n 2.x evaluate an expression for every request
 * in its isolated expression runtime. The headers must stay exactly what the generic form sent.
 */
import type { ICredentialType, IHttpRequestOptions } from 'n8n-workflow';

import { AdobeCampaignStandardApi } from '../../credentials/AdobeCampaignStandardApi.credentials';
import { Dynamics365Api } from '../../credentials/Dynamics365Api.credentials';
import { TestCredentialsHelper } from '../../sandbox/harness/engine';

/** The generic forms both credentials had before (n8n resolves each value as an expression). */
const GENERIC: Record<string, ICredentialType['authenticate']> = {
	adobeCampaignStandardApi: {
		type: 'generic',
		properties: {
			headers: {
				Authorization: '=Bearer {{$credentials.accessToken}}',
				'X-Api-Key': '={{$credentials.clientId}}',
			},
		},
	},
	dynamics365Api: {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.accessToken}}' } },
	},
};

describe.each([
	['adobeCampaignStandardApi', new AdobeCampaignStandardApi()],
	['dynamics365Api', new Dynamics365Api()],
] as const)('%s authenticate', (name, credential) => {
	const data = { clientId: 'client-1', clientSecret: 's3cret', accessToken: 'token-1' };
	const request: IHttpRequestOptions = {
		url: 'https://example.com/x',
		headers: { Accept: 'application/json', Authorization: 'stale' },
	};

	async function authenticateWith(type: ICredentialType) {
		const helper = new TestCredentialsHelper([type]);
		return await helper.authenticate({ ...data }, name, {
			...request,
			headers: { ...request.headers },
		});
	}

	it('is a function n8n calls as it is, with no expression to evaluate per request', () => {
		expect(typeof credential.authenticate).toBe('function');
	});

	it('sets the same headers the generic form set, over the request’s own, and keeps the rest', async () => {
		const now = await authenticateWith(credential);
		const before = await authenticateWith(
			Object.assign(Object.create(Object.getPrototypeOf(credential)), credential, {
				authenticate: GENERIC[name],
			}) as ICredentialType,
		);
		expect(now.headers).toEqual(before.headers);
		expect(now.headers).toMatchObject({
			Accept: 'application/json',
			Authorization: 'Bearer token-1',
		});
		expect(now.url).toBe(request.url);
		// The caller's options are not changed under it.
		expect(request.headers).toMatchObject({ Authorization: 'stale' });
	});
});
