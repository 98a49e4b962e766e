/**
 * Transport over axios for everything that runs outside n8n: sandbox checks, tests, benchmarks,
 * tools. Same contract as the n8n transport: every status is a response, only a missing answer
 * throws (`TransportError`), JSON is parsed by content type, and with a token provider a 401 makes
 * it fetch a new token and send the request once more, as n8n does with `preAuthentication`.
 */
import http from 'node:http';
import https from 'node:https';

import axios, { type AxiosInstance } from 'axios';

import {
	buildUrl,
	normalizeBody,
	normalizeHeaders,
	toTransportErrorCode,
	TransportError,
	urlForMessage,
	type HttpRequest,
	type HttpResponse,
	type Transport,
} from '../../lib/http';
import type { TokenProvider } from './tokens';

export interface AxiosTransportOptions {
	auth?: TokenProvider;
	/** Headers sent with every request (the request's own headers win). */
	headers?: Record<string, string>;
	/** Per-attempt timeout when the request sets none. */
	defaultTimeoutMs?: number;
}

export interface AxiosTransport extends Transport {
	/** Closes kept-alive sockets (so test runners can exit). */
	close(): void;
}

export function axiosTransport(options: AxiosTransportOptions = {}): AxiosTransport {
	const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
	const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });
	const client: AxiosInstance = axios.create({
		httpAgent,
		httpsAgent,
		maxRedirects: 0,
		responseType: 'text',
		// keep the raw text; normalizeBody parses it the way every transport does
		transformResponse: [(data: unknown) => data],
		validateStatus: () => true,
	});
	const defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;

	const send = async <T>(req: HttpRequest, token?: string): Promise<HttpResponse<T>> => {
		const url = buildUrl(req.url, req.qs);
		const headers: Record<string, string> = {
			Accept: 'application/json',
			...options.auth?.headers,
			...options.headers,
			...req.headers,
		};
		if (token !== undefined) headers.Authorization = `Bearer ${token}`;
		try {
			const res = await client.request({
				method: req.method,
				url,
				headers,
				data: req.body,
				timeout: req.timeoutMs ?? defaultTimeoutMs,
			});
			const responseHeaders = normalizeHeaders(res.headers);
			return {
				status: res.status,
				headers: responseHeaders,
				body: normalizeBody(res.data, responseHeaders) as T,
			};
		} catch (error) {
			const { code, message } = error as { code?: unknown; message?: string };
			const mapped = toTransportErrorCode(code, message ?? '');
			if (!mapped) throw error;
			throw new TransportError(`${req.method} ${urlForMessage(url)} failed: ${mapped}`, mapped);
		}
	};

	return {
		async request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
			if (!options.auth) return await send<T>(req);
			const first = await send<T>(req, await options.auth.getToken());
			if (first.status !== 401) return first;
			return await send<T>(req, await options.auth.refreshToken());
		},
		close() {
			httpAgent.destroy();
			httpsAgent.destroy();
		},
	};
}
