import type { HttpRequest, HttpResponse, Transport, TransportErrorCode } from './types';

/** Why an attempt is being repeated. */
export type RetryReason =
	{ kind: 'status'; status: number } | { kind: 'transport'; code: TransportErrorCode };

export interface RetryEvent {
	/** The route label (`req.route`, or `METHOD host` when the caller gave none). */
	route: string;
	request: HttpRequest;
	/** The attempt that just failed, counted from 1. */
	attempt: number;
	/** How long we wait before the next attempt. */
	delayMs: number;
	reason: RetryReason;
}

/**
 * Observers of the HTTP traffic of a transport wrapped by `withRetry` or `withHooks`. Each
 * callback gets the route label so counters and logs can group requests without parsing URLs.
 * Hooks must not throw; they never see credentials (the auth header is added below them).
 */
export interface HttpHooks {
	/** Before every attempt, retries included. */
	onRequest?(route: string, request: HttpRequest, attempt: number): void;
	/** After every attempt that got an answer. */
	onResponse?(route: string, request: HttpRequest, response: HttpResponse, attempt: number): void;
	/** When a failed attempt will be repeated. */
	onRetry?(event: RetryEvent): void;
}

/** The label a request is counted under. */
export function routeLabel(request: HttpRequest): string {
	if (request.route) return request.route;
	let host = request.url;
	try {
		host = new URL(request.url).host;
	} catch {
		// keep the raw URL: a label is only for grouping
	}
	return `${request.method} ${host}`;
}

/** Observes a transport without retrying (for code paths that must not repeat a request). */
export function withHooks(transport: Transport, hooks: HttpHooks): Transport {
	return {
		async request<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>> {
			const route = routeLabel(request);
			hooks.onRequest?.(route, request, 1);
			const response = await transport.request<T>(request);
			hooks.onResponse?.(route, request, response, 1);
			return response;
		},
	};
}
