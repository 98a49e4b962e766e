import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestHelper,
	IHttpRequestOptions,
	Icon,
	INodeProperties,
} from 'n8n-workflow';

import {
	DEFAULT_AUTHORITY_HOST,
	ENVIRONMENT_URL_EXPRESSION,
	describeDynamicsTokenFailure,
	dynamicsTokenRequest,
	normalizeEnvironmentUrl,
	readDynamicsToken,
	type DynamicsAuthSettings,
} from '../lib/dynamics/auth';
import { withBearer } from '../lib/http/auth-headers';
import { requestToken } from '../lib/http/token-request';

/**
 * Client credentials of a Dataverse application user. The access token lives in a hidden
 * expirable field: n8n fetches it through `preAuthentication` when it is empty, and again once
 * when the service answers 401.
 */
export class Dynamics365Api implements ICredentialType {
	name = 'dynamics365Api';

	displayName = 'Microsoft Dynamics 365 (Dataverse) API';

	icon: Icon = { light: 'file:dynamics365.svg', dark: 'file:dynamics365.dark.svg' };

	documentationUrl =
		'https://learn.microsoft.com/en-us/power-apps/developer/data-platform/authenticate-oauth';

	properties: INodeProperties[] = [
		{
			displayName: 'Environment URL',
			name: 'environmentUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://yourorg.crm.dynamics.com',
			description:
				'Address of the Dataverse environment, as shown in the Power Platform admin center. Its "Web API endpoint" (https://yourorg.api.crm.dynamics.com/api/data/v9.2/) works too: the environment URL is derived from it and saved in its place.',
		},
		{
			displayName: 'Tenant ID',
			name: 'tenantId',
			type: 'string',
			default: '',
			required: true,
			placeholder: '00000000-0000-0000-0000-000000000000',
			description: 'Directory (tenant) ID of the Microsoft Entra ID tenant of the app registration',
		},
		{
			displayName: 'Client ID',
			name: 'clientId',
			type: 'string',
			default: '',
			required: true,
			description:
				'Application (client) ID of the app registration that is a Dataverse application user',
		},
		{
			displayName: 'Client Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Value of a client secret of the app registration (not the secret ID)',
		},
		{
			displayName: 'Authority Host',
			name: 'authorityHost',
			type: 'string',
			default: DEFAULT_AUTHORITY_HOST,
			description:
				'Microsoft Entra ID sign-in host. Change it only for national clouds (e.g. https://login.microsoftonline.us).',
		},
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'hidden',
			typeOptions: { expirable: true, password: true },
			default: '',
		},
	];

	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		const settings: DynamicsAuthSettings = {
			environmentUrl: String(credentials.environmentUrl ?? ''),
			tenantId: String(credentials.tenantId ?? ''),
			clientId: String(credentials.clientId ?? ''),
			clientSecret: String(credentials.clientSecret ?? ''),
			authorityHost: String(credentials.authorityHost ?? '') || undefined,
		};
		const answer = await requestToken(this, dynamicsTokenRequest(settings));
		const token = readDynamicsToken(answer);
		if (!token) throw new Error(describeDynamicsTokenFailure(answer, settings));
		// n8n keeps what this returns: the environment URL as used, e.g. derived from a pasted Web
		// API endpoint, so the credential and its test request show and use the same address.
		return {
			accessToken: token.accessToken,
			environmentUrl: normalizeEnvironmentUrl(settings.environmentUrl),
		};
	}

	/** Sends the token with each request (a function: see `withBearer`). */
	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		return withBearer(requestOptions, credentials.accessToken);
	}

	test: ICredentialTestRequest = {
		request: {
			baseURL: ENVIRONMENT_URL_EXPRESSION,
			url: '/api/data/v9.2/WhoAmI',
			method: 'GET',
			headers: { Accept: 'application/json', 'OData-Version': '4.0', 'OData-MaxVersion': '4.0' },
		},
	};
}
