/**
 * The parts of an OAuth client-credentials exchange that Entra ID and Adobe IMS share: the form
 * body, reading the token answer, and keeping the secret out of any text we show.
 */

/** A token request ready for any HTTP client (`body` is form-encoded). */
export interface TokenRequest {
	method: 'POST';
	url: string;
	headers: Record<string, string>;
	body: string;
}

/** What came back from a token endpoint: an answer, or the reason none came. */
export interface TokenAnswer {
	status?: number;
	body?: unknown;
	/** Network failure code or message when no answer arrived (e.g. `ECONNREFUSED`). */
	networkError?: string;
}

export interface AccessToken {
	accessToken: string;
	/** Lifetime the server announced, when it did. */
	expiresInSeconds?: number;
}

export function clientCredentialsRequest(
	url: string,
	fields: { clientId: string; clientSecret: string; scope: string },
): TokenRequest {
	const form = new URLSearchParams({
		grant_type: 'client_credentials',
		client_id: fields.clientId,
		client_secret: fields.clientSecret,
		scope: fields.scope,
	});
	return {
		method: 'POST',
		url,
		headers: {
			'Content-Type': 'application/x-www-form-urlencoded',
			Accept: 'application/json',
		},
		body: form.toString(),
	};
}

/** The token of a successful answer, or undefined when the answer is not one. */
export function readAccessToken(answer: TokenAnswer): AccessToken | undefined {
	if (answer.status === undefined || answer.status < 200 || answer.status >= 300) return undefined;
	const body = asObject(answer.body);
	const token = body?.access_token;
	if (typeof token !== 'string' || token === '') return undefined;
	const expires = Number(body?.expires_in);
	return {
		accessToken: token,
		expiresInSeconds: Number.isFinite(expires) && expires > 0 ? expires : undefined,
	};
}

/** `error` and `error_description` of an OAuth error body (RFC 6749 §5.2), when present. */
export function oauthError(body: unknown): { error: string; description: string } {
	const object = asObject(body);
	return {
		error: typeof object?.error === 'string' ? object.error : '',
		description:
			typeof object?.error_description === 'string'
				? object.error_description
				: typeof object?.message === 'string'
					? object.message
					: '',
	};
}

/** Whether the answer looks like it came from something that is not a token endpoint at all. */
export function isForeignAnswer(answer: TokenAnswer): boolean {
	if (answer.status === 404 || answer.status === 405) return true;
	return answer.status !== undefined && answer.status >= 300 && !asObject(answer.body);
}

/**
 * Replaces every spelling of `secret` (raw, URL-encoded, form-encoded) in `text`, then shortens it:
 * a service may echo the request back, and this text ends up in n8n's UI and logs.
 */
export function scrubSecret(text: string, secret: string | undefined, maxLength = 300): string {
	let out = text;
	if (secret) {
		const spellings = new Set([
			secret,
			encodeURIComponent(secret),
			new URLSearchParams({ s: secret }).toString().slice(2),
		]);
		for (const spelling of spellings) out = out.split(spelling).join('[redacted]');
	}
	out = out.replace(/\s+/g, ' ').trim();
	return out.length > maxLength ? `${out.slice(0, maxLength)}…` : out;
}

/** A short, secret-free rendering of what the token endpoint said, for the end of a message. */
export function describeAnswer(answer: TokenAnswer, secret: string | undefined): string {
	if (answer.networkError !== undefined) return scrubSecret(answer.networkError, secret);
	const { error, description } = oauthError(answer.body);
	const said =
		error || description
			? [error, description].filter(Boolean).join(': ')
			: typeof answer.body === 'string'
				? answer.body
				: '';
	return scrubSecret(`HTTP ${answer.status ?? '?'}${said ? ` ${said}` : ''}`, secret);
}

function asObject(value: unknown): Record<string, unknown> | undefined {
	if (value && typeof value === 'object' && !Array.isArray(value)) {
		return value as Record<string, unknown>;
	}
	if (typeof value === 'string' && value.trim().startsWith('{')) {
		try {
			return asObject(JSON.parse(value));
		} catch {
			return undefined;
		}
	}
	return undefined;
}
