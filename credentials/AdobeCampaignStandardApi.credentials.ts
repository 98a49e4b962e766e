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
	DEFAULT_CAMPAIGN_API_BASE_URL,
	DEFAULT_CAMPAIGN_SCOPES,
	DEFAULT_IMS_HOST,
	campaignTokenRequest,
	describeCampaignTokenFailure,
	readCampaignToken,
	type CampaignAuthSettings,
} from '../lib/campaign/auth';
import { withBearer } from '../lib/http/auth-headers';
import { requestToken } from '../lib/http/token-request';

/**
 * Adobe IMS OAuth server-to-server credentials of an Adobe Developer Console project with the
 * Campaign Standard API. The access token lives in a hidden expirable field: n8n fetches it
 * through `preAuthentication` when it is empty, and again once when the service answers 401.
 */
export class AdobeCampaignStandardApi implements ICredentialType {
	name = 'adobeCampaignStandardApi';

	displayName = 'Adobe Campaign Standard API';

	icon: Icon = { light: 'file:adobeCampaign.svg', dark: 'file:adobeCampaign.dark.svg' };

	documentationUrl =
		'https://developer.adobe.com/developer-console/docs/guides/authentication/ServerToServerAuthentication/';

	properties: INodeProperties[] = [
		{
			displayName: 'Organization ID',
			name: 'organizationId',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'mycompany-mkt-prod1',
			description:
				'Campaign tenant (organization) ID, the first path segment of the Campaign REST API',
		},
		{
			displayName: 'Client ID',
			name: 'clientId',
			type: 'string',
			default: '',
			required: true,
			description:
				'Client ID (API key) of the OAuth server-to-server credential. Also sent as X-Api-Key.',
		},
		{
			displayName: 'Client Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Client secret of the OAuth server-to-server credential',
		},
		{
			displayName: 'Scopes',
			name: 'scopes',
			type: 'string',
			default: DEFAULT_CAMPAIGN_SCOPES,
			description: 'Comma-separated scopes shown for the credential in the Adobe Developer Console',
		},
		{
			displayName: 'IMS Host',
			name: 'imsHost',
			type: 'string',
			default: DEFAULT_IMS_HOST,
			description: 'Adobe Identity Management Services host that issues the access token',
		},
		{
			displayName: 'API Base URL',
			name: 'apiBaseUrl',
			type: 'string',
			default: DEFAULT_CAMPAIGN_API_BASE_URL,
			description: 'Adobe I/O gateway in front of the Campaign Standard REST API',
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
		const settings: CampaignAuthSettings = {
			organizationId: String(credentials.organizationId ?? ''),
			clientId: String(credentials.clientId ?? ''),
			clientSecret: String(credentials.clientSecret ?? ''),
			scopes: String(credentials.scopes ?? '') || undefined,
			imsHost: String(credentials.imsHost ?? '') || undefined,
		};
		const answer = await requestToken(this, campaignTokenRequest(settings));
		const token = readCampaignToken(answer);
		if (!token) throw new Error(describeCampaignTokenFailure(answer, settings));
		return { accessToken: token.accessToken };
	}

	/**
	 * Sends the token, and the Client ID as `X-Api-Key` (Adobe.io asks for both), with each request
	 * (a function: see `withBearer`).
	 */
	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		return withBearer(requestOptions, credentials.accessToken, {
			'X-Api-Key': String(credentials.clientId ?? ''),
		});
	}

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.apiBaseUrl}}',
			url: '=/{{$credentials.organizationId}}/campaign/profileAndServices/profile',
			method: 'GET',
			qs: { _lineCount: 1 },
			headers: { Accept: 'application/json' },
		},
	};
}
