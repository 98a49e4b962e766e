/**
 * Microsoft Entra ID client-credentials token for Dataverse (an application user): the request,
 * and a message that says which credential field is probably wrong when it fails.
 */
import type { AccessToken, TokenAnswer, TokenRequest } from '../http/oauth';
import {
	clientCredentialsRequest,
	describeAnswer,
	isForeignAnswer,
	oauthError,
	readAccessToken,
} from '../http/oauth';

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

/** The credential fields, named as in the `dynamics365Api` credential. */
export interface DynamicsAuthSettings {
	environmentUrl: string;
	tenantId: string;
	clientId: string;
	clientSecret: string;
	authorityHost?: string;
}

/**
 * The environment URL (`https://org.crm4.dynamics.com`: the Web API's host and the token scope's
 * resource) from what a user pasted: the environment URL, or the "Web API endpoint" the Power
 * Platform admin center shows (`https://org.api.crm4.dynamics.com/api/data/v9.2/`), in any case,
 * with or without trailing slashes or scheme. Undefined when it is no URL at all.
 */
export function environmentUrlOf(input: string): string | undefined {
	let text = input.trim();
	if (!text) return undefined;
	if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `https://${text}`;
	let url: URL;
	try {
		url = new URL(text);
	} catch {
		return undefined;
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
	// The Web API endpoint's host has an `api` label after the organization: org.api.crm4.… .
	const host = url.host.toLowerCase().replace(/^([^.]+)\.api\.(crm[0-9]*\..+)$/, '$1.$2');
	return `${url.protocol}//${host}`;
}

/**
 * `environmentUrlOf` as an n8n expression on the credential, for the credential's test request
 * (n8n resolves it before `preAuthentication` runs, so it cannot use our code). A unit test keeps
 * the two in step.
 */
export const ENVIRONMENT_URL_EXPRESSION =
	"={{ $credentials.environmentUrl.trim().replace(/^(?!https?:\\/\\/)/i, 'https://').replace(/^(https?:\\/\\/[^/?#]+).*$/i, '$1').toLowerCase().replace(/^(https?:\\/\\/[^./]+)\\.api\\.(crm[0-9]*\\.)/, '$1.$2') }}";

/** The environment URL, or the input trimmed of trailing slashes when it is no URL. */
export function normalizeEnvironmentUrl(environmentUrl: string): string {
	return environmentUrlOf(environmentUrl) ?? environmentUrl.trim().replace(/\/+$/, '');
}

export function dynamicsScope(environmentUrl: string): string {
	return `${normalizeEnvironmentUrl(environmentUrl)}/.default`;
}

export function dynamicsTokenUrl(
	settings: Pick<DynamicsAuthSettings, 'tenantId' | 'authorityHost'>,
): string {
	const host = (settings.authorityHost?.trim() || DEFAULT_AUTHORITY_HOST).replace(/\/+$/, '');
	return `${host}/${encodeURIComponent(settings.tenantId.trim())}/oauth2/v2.0/token`;
}

/** `POST {authorityHost}/{tenantId}/oauth2/v2.0/token`, scope `{environmentUrl}/.default`. */
export function dynamicsTokenRequest(settings: DynamicsAuthSettings): TokenRequest {
	return clientCredentialsRequest(dynamicsTokenUrl(settings), {
		clientId: settings.clientId.trim(),
		clientSecret: settings.clientSecret,
		scope: dynamicsScope(settings.environmentUrl),
	});
}

export function readDynamicsToken(answer: TokenAnswer): AccessToken | undefined {
	return readAccessToken(answer);
}

/** Which field an Entra ID `AADSTS` code points at. */
const AADSTS_HINTS: Array<[RegExp, string]> = [
	[/AADSTS7000215\b/, 'the Client Secret is wrong (use the secret value, not its ID)'],
	[/AADSTS7000222\b/, 'the Client Secret has expired: create a new one in the app registration'],
	[
		/AADSTS700016\b/,
		'the Client ID is wrong, or the app is registered in another tenant than the Tenant ID',
	],
	[
		/AADSTS(90002|900023|90013)\b/,
		'the Tenant ID is wrong (use the directory (tenant) ID GUID or domain)',
	],
	[
		/AADSTS(500011|70011|1002012)\b/,
		'the Environment URL is wrong (the token scope is "<Environment URL>/.default")',
	],
	[/AADSTS(700024|7000218)\b/, 'the Client Secret is missing'],
];

/**
 * A message for a failed token request that names the field to check. It never contains the
 * client secret, even when the service echoes it.
 */
export function describeDynamicsTokenFailure(
	answer: TokenAnswer,
	settings: DynamicsAuthSettings,
): string {
	const prefix = `Could not get a Microsoft Dynamics 365 access token for the scope ${dynamicsScope(settings.environmentUrl)}`;
	const said = describeAnswer(answer, settings.clientSecret);
	const host = settings.authorityHost?.trim() || DEFAULT_AUTHORITY_HOST;
	let hint: string;
	if (answer.networkError !== undefined) {
		hint = `the Authority Host ${host} could not be reached: check the Authority Host and the network`;
	} else if (
		readAccessToken(answer) === undefined &&
		answer.status !== undefined &&
		answer.status < 300
	) {
		hint = `the Authority Host ${host} answered without an access token: check the Authority Host`;
	} else if (isForeignAnswer(answer)) {
		hint = `the Authority Host ${host} or the Tenant ID is wrong (no token endpoint at that address)`;
	} else {
		const { error, description } = oauthError(answer.body);
		hint =
			AADSTS_HINTS.find(([pattern]) => pattern.test(description))?.[1] ??
			(error === 'invalid_client'
				? 'the Client ID or the Client Secret is wrong'
				: error === 'invalid_scope'
					? 'the Environment URL is wrong (the token scope is "<Environment URL>/.default")'
					: error === 'unauthorized_client'
						? 'the Client ID is not allowed to use client credentials in this tenant'
						: /tenant/i.test(description)
							? 'the Tenant ID is wrong'
							: 'check the Tenant ID, Client ID and Client Secret');
	}
	return `${prefix}: ${hint}. Entra ID said: ${said}`;
}
