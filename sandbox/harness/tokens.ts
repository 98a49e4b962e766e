/**
 * Access tokens for both services outside n8n (tests, benchmarks, tools), built on the same
 * request and error helpers as the credentials, so a wrong field reads the same everywhere.
 */
import { SANDBOX_DEFAULTS } from '../defaults';
import {
	campaignTokenRequest,
	describeCampaignTokenFailure,
	type CampaignAuthSettings,
} from '../../lib/campaign/auth';
import {
	describeDynamicsTokenFailure,
	dynamicsTokenRequest,
	type DynamicsAuthSettings,
} from '../../lib/dynamics/auth';
import {
	readAccessToken,
	TransportError,
	type TokenAnswer,
	type TokenRequest,
	type Transport,
} from '../../lib/http';
import { axiosTransport } from './axios-transport';

export interface TokenProvider {
	/** The current token; fetched when there is none or it is about to expire. */
	getToken(): Promise<string>;
	/** Drops the current token and fetches a new one (after a 401). */
	refreshToken(): Promise<string>;
	/** Headers every API call needs besides the token (Campaign's `X-Api-Key`). */
	readonly headers?: Record<string, string>;
	/** Tokens fetched so far. */
	readonly fetches: number;
	/** Closes the token transport when the provider made its own. */
	close(): void;
}

export interface TokenProviderOptions {
	/** Sends the token request; a plain axios transport by default. */
	transport?: Transport;
	/** Fetch a new token this long before the announced expiry. */
	refreshMarginMs?: number;
}

function tokenProvider(
	request: () => TokenRequest,
	describeFailure: (answer: TokenAnswer) => string,
	options: TokenProviderOptions,
	headers?: Record<string, string>,
): TokenProvider {
	const own = options.transport ? undefined : axiosTransport();
	const transport = options.transport ?? (own as Transport);
	const margin = options.refreshMarginMs ?? 60_000;
	let current: { token: string; expiresAt: number } | undefined;
	let inFlight: Promise<string> | undefined;
	let fetches = 0;

	const fetchToken = async (): Promise<string> => {
		const req = request();
		let answer: TokenAnswer;
		try {
			const res = await transport.request({ ...req, route: 'token:POST' });
			answer = { status: res.status, body: res.body };
		} catch (error) {
			if (!(error instanceof TransportError)) throw error;
			answer = { networkError: error.code };
		}
		fetches++;
		const token = readAccessToken(answer);
		if (!token) throw new Error(describeFailure(answer));
		current = {
			token: token.accessToken,
			expiresAt: Date.now() + (token.expiresInSeconds ?? 3600) * 1000 - margin,
		};
		return token.accessToken;
	};

	// concurrent callers share one token request
	const singleFlight = async (): Promise<string> => {
		inFlight ??= fetchToken().finally(() => (inFlight = undefined));
		return await inFlight;
	};

	return {
		async getToken() {
			if (current && current.expiresAt > Date.now()) return current.token;
			return await singleFlight();
		},
		async refreshToken() {
			current = undefined;
			return await singleFlight();
		},
		headers,
		get fetches() {
			return fetches;
		},
		close() {
			own?.close();
		},
	};
}

export function dynamicsTokens(
	settings: DynamicsAuthSettings,
	options: TokenProviderOptions = {},
): TokenProvider {
	return tokenProvider(
		() => dynamicsTokenRequest(settings),
		(answer) => describeDynamicsTokenFailure(answer, settings),
		options,
	);
}

export function campaignTokens(
	settings: CampaignAuthSettings,
	options: TokenProviderOptions = {},
): TokenProvider {
	return tokenProvider(
		() => campaignTokenRequest(settings),
		(answer) => describeCampaignTokenFailure(answer, settings),
		options,
		{ 'X-Api-Key': settings.clientId.trim() },
	);
}

/** Credential settings that reach a Dataverse sandbox at `url` (environment and authority). */
export function sandboxDynamicsSettings(
	url: string,
	overrides: Partial<DynamicsAuthSettings> = {},
): DynamicsAuthSettings {
	const d = SANDBOX_DEFAULTS.dataverse;
	return {
		environmentUrl: url,
		authorityHost: url,
		tenantId: d.tenantId,
		clientId: d.clientId,
		clientSecret: d.clientSecret,
		...overrides,
	};
}

/** Credential settings that reach a Campaign sandbox at `url` (IMS and API gateway). */
export function sandboxCampaignSettings(
	url: string,
	overrides: Partial<CampaignAuthSettings> = {},
): CampaignAuthSettings {
	const d = SANDBOX_DEFAULTS.campaign;
	return {
		organizationId: d.organizationId,
		clientId: d.clientId,
		clientSecret: d.clientSecret,
		scopes: d.scopes,
		imsHost: url,
		apiBaseUrl: url,
		...overrides,
	};
}
