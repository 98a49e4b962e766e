import type { IHttpRequestHelper } from 'n8n-workflow';

import type { TokenAnswer, TokenRequest } from './oauth';
import {
	DEFAULT_RETRY_POLICY,
	RETRYABLE_STATUSES,
	RETRYABLE_TRANSPORT_CODES,
	backoffDelay,
} from './retry';
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
	// A token request changes nothing on the server, so a throttled, unavailable or lost answer is
	// asked again (briefly): one hiccup of the token endpoint should not fail a record.
	for (let attempt = 1; ; attempt++) {
		const answer = await requestTokenOnce(context, request, timeoutMs);
		const transient =
			(answer.status !== undefined && RETRYABLE_STATUSES.includes(answer.status)) ||
			(answer.networkError !== undefined &&
				RETRYABLE_TRANSPORT_CODES.some(
					(code) => code === toTransportErrorCode(answer.networkError, answer.networkError),
				));
		if (!transient || attempt >= TOKEN_ATTEMPTS) return answer;
		await DEFAULT_RETRY_POLICY.sleep(backoffDelay(attempt, DEFAULT_RETRY_POLICY));
	}
}

const TOKEN_ATTEMPTS = 3;

async function requestTokenOnce(
	context: IHttpRequestHelper,
	request: TokenRequest,
	timeoutMs: number,
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
