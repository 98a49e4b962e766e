import type {
	IAdditionalCredentialOptions,
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	IHookFunctions,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	IPollFunctions,
} from 'n8n-workflow';

import type { HttpRequest, HttpResponse, Transport } from './types';
import { TransportError } from './types';
import { buildUrl, urlForMessage } from './url';
import { normalizeBody, normalizeHeaders, toTransportErrorCode } from './wire';

/** The n8n contexts our nodes send requests from. */
export type N8nRequestContext =
	IExecuteFunctions | IPollFunctions | ILoadOptionsFunctions | IHookFunctions;

export interface N8nTransportOptions {
	/** Per-attempt timeout when the request sets none. */
	defaultTimeoutMs?: number;
	/**
	 * The credential as the node read it at the start of its run. n8n's helper otherwise reads
	 * (and in n8n, decrypts from its database) the credential again for every request.
	 */
	credentials?: ICredentialDataDecryptedObject;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Adapts `this.helpers.httpRequestWithAuthentication` to `Transport`, so our service clients run
 * unchanged inside n8n (credentials, proxy and SSRF rules stay n8n's).
 *
 * Token refresh: every status is returned as a response except 401, which n8n is allowed to see
 * as an error (`ignoreHttpStatusErrors: { ignore: true, except: [401] }`). On that error n8n-core
 * (request-helpers/authentication.js, 2.40) re-runs the credential's `preAuthentication` with
 * `expired = true`, which fetches a fresh token into the hidden expirable `accessToken` field,
 * and sends the request once more. If that second attempt is a 401 too, n8n throws; we turn it
 * back into a 401 response so callers see the service's own error body. n8n 1.x knows only
 * `true`/`false` there; see the second send below. With `credentials`, the token n8n fetches
 * goes into the one credential object every request of this transport sends (`handedCredential`).
 *
 * Bodies: objects go out as JSON; strings (a `$batch` multipart body) go out untouched with the
 * caller's `Content-Type`. Responses are read as text and parsed here when they say JSON, the
 * same way the axios transport does, so both transports give identical bodies.
 */
export function n8nTransport(
	ctx: N8nRequestContext,
	credentialType: string,
	options: N8nTransportOptions = {},
): Transport {
	const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
	const additional = handedCredential(ctx, credentialType, options.credentials);
	return {
		async request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
			const url = buildUrl(req.url, req.qs);
			// Built anew for each send: n8n's helper may change the options it is given.
			const send = async (
				ignoreHttpStatusErrors: IHttpRequestOptions['ignoreHttpStatusErrors'],
			) => {
				const requestOptions: IHttpRequestOptions = {
					method: req.method,
					url,
					headers: { ...req.headers },
					json: true,
					encoding: 'text',
					returnFullResponse: true,
					ignoreHttpStatusErrors,
					timeout: req.timeoutMs ?? defaultTimeoutMs,
				};
				if (req.body !== undefined) requestOptions.body = req.body as IHttpRequestOptions['body'];
				return (await ctx.helpers.httpRequestWithAuthentication.call(
					ctx,
					credentialType,
					requestOptions,
					additional,
				)) as { statusCode: number; headers: unknown; body: unknown };
			};

			let failure: unknown;
			try {
				let full = await send({ ignore: true, except: [401] });
				if (full.statusCode === 401) {
					// Only n8n 1.x hands a 401 back here: its helper (n8n-core 1.x,
					// request-helper-functions.js) reads any truthy `ignoreHttpStatusErrors` as "ignore
					// every status", so it never refreshes the token. Sent again with status errors on,
					// n8n refreshes it and repeats the request; other statuses then arrive as errors,
					// which are turned back into responses below.
					full = await send(false);
				}
				return toResponse<T>(full.statusCode, full.headers, full.body);
			} catch (error) {
				failure = error;
			}
			// Nodes wrap what a transport throws into NodeApiError with the record in view; here we
			// only sort the failure into "answered", "no answer" and "not an HTTP problem".
			const answered = findHttpAnswer(failure);
			if (answered) return toResponse<T>(answered.status, answered.headers, answered.data);
			const code = findNetworkCode(failure);
			if (code) {
				throw new TransportError(`${req.method} ${urlForMessage(url)} failed: ${code}`, code);
			}
			// credential problems (preAuthentication's clear message), cancellation: as n8n made them
			throw failure;
		},
	};
}

/**
 * The credential handed to n8n's helper with every request (`credentialsDecrypted`, n8n-core
 * request-helpers/authentication.js, 2.40; the same in 1.x), so the helper does not read it for
 * each. One object for the transport's life: when the helper fetches a token (empty, or after a
 * 401), it writes it into this object (`Object.assign`), so the requests after it send the new
 * token, as they did when each read the credential n8n had just saved. A copy of what the node
 * read, so nothing else the node holds changes under it.
 */
function handedCredential(
	ctx: N8nRequestContext,
	credentialType: string,
	credentials: ICredentialDataDecryptedObject | undefined,
): IAdditionalCredentialOptions | undefined {
	if (!credentials) return undefined;
	const stored = ctx.getNode().credentials?.[credentialType];
	return {
		credentialsDecrypted: {
			id: stored?.id ?? '',
			name: stored?.name ?? '',
			type: credentialType,
			data: { ...credentials },
		},
	};
}

function toResponse<T>(status: number, rawHeaders: unknown, data: unknown): HttpResponse<T> {
	const headers = normalizeHeaders(rawHeaders);
	return { status, headers, body: normalizeBody(data, headers) as T };
}

/** n8n wraps axios errors in NodeApiError; the axios error, with its response, is on `cause`. */
function* errorChain(error: unknown): Generator<Record<string, unknown>> {
	let current: unknown = error;
	for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
		yield current as Record<string, unknown>;
		current = (current as { cause?: unknown }).cause;
	}
}

function findHttpAnswer(
	error: unknown,
): { status: number; headers: unknown; data: unknown } | undefined {
	for (const link of errorChain(error)) {
		const response = link.response as { status?: unknown; headers?: unknown; data?: unknown };
		if (response && typeof response === 'object' && typeof response.status === 'number') {
			return { status: response.status, headers: response.headers, data: response.data };
		}
	}
	return undefined;
}

function findNetworkCode(error: unknown) {
	for (const link of errorChain(error)) {
		const code = toTransportErrorCode(
			link.code,
			typeof link.message === 'string' ? link.message : '',
		);
		if (code) return code;
	}
	return undefined;
}
