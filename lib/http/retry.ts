import { sleep as n8nSleep } from 'n8n-workflow';

import type { HttpHooks, RetryReason } from './hooks';
import { routeLabel } from './hooks';
import type { HttpRequest, HttpResponse, Transport, TransportErrorCode } from './types';
import { TransportError } from './types';

export interface RetryPolicy {
	/** Attempts in total, the first one included. */
	maxAttempts: number;
	/** Backoff before retry n (from 1) is drawn from [0, min(maxDelayMs, baseDelayMs * 2^(n-1))). */
	baseDelayMs: number;
	/** Cap of the computed backoff. A server's `Retry-After` is not capped by it (see below). */
	maxDelayMs: number;
	/** Budget for all attempts and waits together, counted from the first attempt. */
	deadlineMs: number;
	/** Source of jitter in [0, 1). */
	random: () => number;
	/** How to wait. Nodes may not use timers directly, hence n8n's `sleep` by default. */
	sleep: (ms: number) => Promise<void>;
	/** Clock in milliseconds (for the deadline and for `Retry-After` dates). */
	now: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
	maxAttempts: 5,
	baseDelayMs: 500,
	maxDelayMs: 30_000,
	deadlineMs: 120_000,
	random: Math.random,
	sleep: async (ms) => await n8nSleep(ms),
	now: () => Date.now(),
};

/**
 * Statuses worth another attempt: throttling, the gateway/availability family, and 500, which both
 * services also answer for transient trouble (Azure SDKs retry it by default). A 500 is repeated
 * only for idempotent or repeat-safe requests (see `isRepeatable`), never for a plain POST, and
 * never when the request's `deterministic` recognises it (Campaign's 500 naming a cause).
 */
export const RETRYABLE_STATUSES: readonly number[] = [429, 500, 502, 503, 504];

/**
 * Statuses by which the server refuses a request *before* executing it: Dataverse's service
 * protection limits and Adobe's API gateway answer 429 (and 503 when overloaded) without touching
 * data, so repeating any method is safe. 500, 502 and 504 are different: the backend may have
 * written before failing or timing out, so a blind repeat of a POST could create a duplicate.
 */
export const REFUSED_STATUSES: readonly number[] = [401, 429, 503];

/**
 * A 401 reaches us only after the transport has already fetched a fresh token and sent the request
 * once more (n8n does this for credentials with an expirable token). A second 401 right after is
 * almost always a token that expired or was revoked in between; one more attempt, with its own
 * refresh, settles it. A credential that is really wrong fails again and is reported.
 */
const MAX_UNAUTHORIZED_RETRIES = 1;

/** Transport failures worth another attempt. A refused connection is a setup error, not retried. */
export const RETRYABLE_TRANSPORT_CODES: readonly TransportErrorCode[] = ['ECONNRESET', 'ETIMEDOUT'];

/**
 * Whether a request may be sent again after the given failure.
 *
 * - GET, PUT and DELETE are idempotent by HTTP semantics: always.
 * - POST and PATCH only when `req.repeatSafe` is true, i.e. the caller made a repeat harmless: an
 *   upsert by key (Dataverse `PATCH set(key=…)`), a client-generated id, or a lookup by business
 *   key that runs again before the write (Campaign "find, then create"). A PATCH on a PKey that
 *   overwrites the same fields is also repeat-safe and callers may mark it so.
 * - Otherwise POST and PATCH are repeated only after a status in `REFUSED_STATUSES`, since the
 *   server did nothing with them. A reset or timeout leaves it unknown whether the write happened,
 *   so it is not repeated.
 */
export function isRepeatable(req: HttpRequest, reason: RetryReason): boolean {
	if (req.method === 'GET' || req.method === 'PUT' || req.method === 'DELETE') return true;
	if (req.repeatSafe === true) return true;
	return reason.kind === 'status' && REFUSED_STATUSES.includes(reason.status);
}

/**
 * The wait a server asks for, in ms: `x-ms-retry-after-ms` (Dataverse, precise) wins over
 * `Retry-After`, which is either seconds or an HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfter(
	headers: Record<string, string>,
	nowMs: number = Date.now(),
): number | undefined {
	const precise = headers['x-ms-retry-after-ms'];
	if (precise !== undefined && precise.trim() !== '') {
		const ms = Number(precise);
		if (Number.isFinite(ms) && ms >= 0) return ms;
	}
	const value = headers['retry-after']?.trim();
	if (!value) return undefined;
	if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
	const at = Date.parse(value);
	if (Number.isNaN(at)) return undefined;
	return Math.max(0, at - nowMs);
}

/** Capped exponential backoff with full jitter for retry number `retry` (from 1). */
export function backoffDelay(
	retry: number,
	policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
): number {
	const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
	return Math.floor(policy.random() * ceiling);
}

/**
 * Wraps a transport with retries on 429, 502, 503, 504 and on connection resets and timeouts.
 *
 * The wait is the server's `Retry-After` when it sends one (it knows its own window, and Dataverse
 * lengthens it for clients that come back early), otherwise capped exponential backoff with full
 * jitter. When the attempts are used up, or the next wait would end past the deadline, the last
 * answer is returned as is (or the last `TransportError` rethrown), so the caller's typed error
 * carries the service's own status, code and message.
 */
export function withRetry(
	transport: Transport,
	policy: Partial<RetryPolicy> = {},
	hooks: HttpHooks = {},
): Transport {
	const p: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...policy };
	return {
		async request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
			const route = routeLabel(req);
			const started = p.now();
			let unauthorizedRetries = 0;
			for (let attempt = 1; ; attempt++) {
				hooks.onRequest?.(route, req, attempt);
				let response: HttpResponse<T> | undefined;
				let failure: unknown;
				try {
					response = await transport.request<T>(req);
				} catch (error) {
					failure = error;
				}
				// only "no answer arrived" is ours to retry; anything else is the caller's
				if (!response && !(failure instanceof TransportError)) throw failure;

				let reason: RetryReason;
				let serverWaitMs: number | undefined;
				if (response) {
					hooks.onResponse?.(route, req, response, attempt);
					if (req.deterministic?.(response as HttpResponse)) return response;
					const unauthorized =
						response.status === 401 && unauthorizedRetries < MAX_UNAUTHORIZED_RETRIES;
					if (!RETRYABLE_STATUSES.includes(response.status) && !unauthorized) return response;
					if (unauthorized) unauthorizedRetries++;
					reason = { kind: 'status', status: response.status };
					serverWaitMs = unauthorized ? 0 : parseRetryAfter(response.headers, p.now());
				} else {
					const code = (failure as TransportError).code;
					if (!RETRYABLE_TRANSPORT_CODES.includes(code)) throw failure;
					reason = { kind: 'transport', code };
				}

				const giveUp = (): HttpResponse<T> => {
					if (response) return response;
					throw failure;
				};
				if (attempt >= p.maxAttempts || !isRepeatable(req, reason)) return giveUp();
				const delayMs = serverWaitMs ?? backoffDelay(attempt, p);
				if (p.now() - started + delayMs > p.deadlineMs) return giveUp();

				hooks.onRetry?.({ route, request: req, attempt, delayMs, reason });
				await p.sleep(delayMs);
			}
		},
	};
}
