/**
 * Adobe IMS OAuth server-to-server token for Campaign Standard: the request, and a message that
 * says which credential field is probably wrong when it fails.
 */
import type { AccessToken, TokenAnswer, TokenRequest } from '../http/oauth';
import {
	clientCredentialsRequest,
	describeAnswer,
	isForeignAnswer,
	oauthError,
	readAccessToken,
} from '../http/oauth';

export const DEFAULT_IMS_HOST = 'https://ims-na1.adobelogin.com';
export const DEFAULT_CAMPAIGN_API_BASE_URL = 'https://mc.adobe.io';
export const DEFAULT_CAMPAIGN_SCOPES =
	'openid,AdobeID,campaign_sdk,additional_info.projectedProductContext,campaign_config_server_general,deliverability_service_general';

/** The credential fields, named as in the `adobeCampaignStandardApi` credential. */
export interface CampaignAuthSettings {
	organizationId: string;
	clientId: string;
	clientSecret: string;
	scopes?: string;
	imsHost?: string;
	apiBaseUrl?: string;
}

/** Scopes as IMS wants them: comma-separated, no blanks (users paste lists with spaces). */
export function normalizeScopes(scopes: string | undefined): string {
	const list = (scopes ?? DEFAULT_CAMPAIGN_SCOPES).split(/[\s,]+/).filter(Boolean);
	return (list.length ? list : DEFAULT_CAMPAIGN_SCOPES.split(',')).join(',');
}

export function campaignTokenUrl(settings: Pick<CampaignAuthSettings, 'imsHost'>): string {
	const host = (settings.imsHost?.trim() || DEFAULT_IMS_HOST).replace(/\/+$/, '');
	return `${host}/ims/token/v3`;
}

/** `{apiBaseUrl}/{organizationId}/campaign`, the root of every Campaign REST path. */
export function campaignApiRoot(
	settings: Pick<CampaignAuthSettings, 'apiBaseUrl' | 'organizationId'>,
): string {
	const base = (settings.apiBaseUrl?.trim() || DEFAULT_CAMPAIGN_API_BASE_URL).replace(/\/+$/, '');
	return `${base}/${encodeURIComponent(settings.organizationId.trim())}/campaign`;
}

/** `POST {imsHost}/ims/token/v3` with the client credentials and the scope list. */
export function campaignTokenRequest(settings: CampaignAuthSettings): TokenRequest {
	return clientCredentialsRequest(campaignTokenUrl(settings), {
		clientId: settings.clientId.trim(),
		clientSecret: settings.clientSecret,
		scope: normalizeScopes(settings.scopes),
	});
}

export function readCampaignToken(answer: TokenAnswer): AccessToken | undefined {
	return readAccessToken(answer);
}

/**
 * A message for a failed token request that names the field to check. It never contains the
 * client secret, even when the service echoes it.
 */
export function describeCampaignTokenFailure(
	answer: TokenAnswer,
	settings: CampaignAuthSettings,
): string {
	const prefix = 'Could not get an Adobe Campaign Standard access token';
	const said = describeAnswer(answer, settings.clientSecret);
	const host = settings.imsHost?.trim() || DEFAULT_IMS_HOST;
	let hint: string;
	if (answer.networkError !== undefined) {
		hint = `the IMS Host ${host} could not be reached: check the IMS Host and the network`;
	} else if (answer.status !== undefined && answer.status < 300) {
		hint = `the IMS Host ${host} answered without an access token: check the IMS Host`;
	} else if (isForeignAnswer(answer)) {
		hint = `the IMS Host ${host} is wrong (no IMS token endpoint at that address)`;
	} else {
		const { error, description } = oauthError(answer.body);
		const text = `${error} ${description}`;
		if (/client_secret|secret/i.test(text)) hint = 'the Client Secret is wrong';
		else if (/client_id|api.?key/i.test(text)) hint = 'the Client ID is wrong';
		else if (/scope/i.test(text))
			hint = `the Scopes are wrong (sent: ${normalizeScopes(settings.scopes)})`;
		else if (error === 'invalid_client') hint = 'the Client ID or the Client Secret is wrong';
		else if (error === 'unauthorized_client') {
			hint =
				'the Client ID is not allowed to use OAuth server-to-server: check its project in the Adobe Developer Console';
		} else hint = 'check the Client ID, Client Secret and Scopes';
	}
	return `${prefix}: ${hint}. Adobe IMS said: ${said}`;
}
