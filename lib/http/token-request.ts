import type { IHttpRequestHelper } from 'n8n-workflow';

import type { TokenAnswer, TokenRequest } from './oauth';
import { toTransportErrorCode } from './wire';

/**
 * Sends a token request with n8n's plain `httpRequest` (credentials' `preAuthentication` has no
 * other helper) and returns what came back, error statuses included, without ever throwing: the
 * caller turns a failed answer into a message that names the credential field to fix.
 */
export async function requestToken(
	context: IHttpRequestHelper,
	request: TokenRequest,
	timeoutMs = 30_000,
): Promise<TokenAnswer> {
	try {
		const full = (await context.helpers.httpRequest({
			method: request.method,
			url: request.url,
			headers: request.headers,
			body: request.body,
			json: true,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			timeout: timeoutMs,
		})) as { statusCode: number; body: unknown };
		return { status: full.statusCode, body: full.body };
	} catch (error) {
		// no answer at all; keep only the network code, never the request (it holds the secret)
		const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
		const text = typeof message === 'string' ? message : '';
		const networkError =
			typeof code === 'string' && code !== ''
				? code
				: (toTransportErrorCode(code, text) ?? 'network error');
		return { networkError };
	}
}
