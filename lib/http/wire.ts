import type { TransportErrorCode } from './types';

/** What every transport adapter does the same way, so they answer alike. */

/** Response header names in lower case, values as one string. */
export function normalizeHeaders(raw: unknown): Record<string, string> {
	const out: Record<string, string> = {};
	if (!raw || typeof raw !== 'object') return out;
	const source =
		typeof (raw as { toJSON?: unknown }).toJSON === 'function'
			? ((raw as { toJSON: () => unknown }).toJSON() as Record<string, unknown>)
			: (raw as Record<string, unknown>);
	for (const [name, value] of Object.entries(source)) {
		if (value === undefined || value === null) continue;
		out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
	}
	return out;
}

/** Maps a Node.js / axios network error code to the transport's small set. */
export function toTransportErrorCode(code: unknown, message = ''): TransportErrorCode | undefined {
	switch (code) {
		case 'ECONNRESET':
		case 'EPIPE':
			return 'ECONNRESET';
		case 'ETIMEDOUT':
		case 'ESOCKETTIMEDOUT':
		case 'ECONNABORTED': // axios: "timeout of N ms exceeded"
			return 'ETIMEDOUT';
		case 'ECONNREFUSED':
			return 'ECONNREFUSED';
		case 'ENOTFOUND':
		case 'EAI_AGAIN':
		case 'EHOSTUNREACH':
		case 'ENETUNREACH':
		case 'ERR_NETWORK':
			return 'EOTHER';
		default:
			// a socket closed without a code ("socket hang up") is a reset as far as callers care
			return /socket hang up/i.test(message) ? 'ECONNRESET' : undefined;
	}
}

/**
 * A response body as the Transport contract promises: parsed JSON when the response says JSON
 * (or already was parsed), else text, '' when empty.
 */
export function normalizeBody(data: unknown, headers: Record<string, string>): unknown {
	if (data === undefined || data === null) return '';
	if (typeof data === 'string') {
		const type = headers['content-type'] ?? '';
		if (data !== '' && /[/+]json\b/i.test(type)) {
			try {
				return JSON.parse(data);
			} catch {
				return data;
			}
		}
		return data;
	}
	if (data instanceof Uint8Array) return new TextDecoder().decode(data);
	return data;
}
