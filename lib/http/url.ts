/**
 * Appends `qs` to `url` (which may already carry a query, e.g. an `@odata.nextLink`). Values are
 * percent-encoded with `encodeURIComponent`, so a space is `%20`, never `+`, and OData's `$` keys
 * and quotes reach the server as written. Every transport builds URLs here so they all send the
 * same bytes.
 */
export function buildUrl(url: string, qs?: Record<string, string | number | boolean>): string {
	if (!qs) return url;
	const pairs = Object.entries(qs)
		.filter(([, value]) => value !== undefined)
		.map(([key, value]) => `${encodeQueryKey(key)}=${encodeURIComponent(String(value))}`);
	if (pairs.length === 0) return url;
	const hashAt = url.indexOf('#');
	const base = hashAt === -1 ? url : url.slice(0, hashAt);
	const hash = hashAt === -1 ? '' : url.slice(hashAt);
	const joiner = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
	return `${base}${joiner}${pairs.join('&')}${hash}`;
}

function encodeQueryKey(key: string): string {
	// `$filter`, `$select`, `@p1`: keep the sigils readable, they are legal in a query
	return encodeURIComponent(key).replace(/%24/g, '$').replace(/%40/g, '@');
}

/** The URL without its query, for messages (a query may carry record values). */
export function urlForMessage(url: string): string {
	const cut = url.search(/[?#]/);
	return cut === -1 ? url : url.slice(0, cut);
}
