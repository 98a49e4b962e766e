/**
 * Authenticated transports to the in-process sandboxes for the client tests.
 */
import type { HttpRequest, HttpResponse, Transport } from '../../lib/http/types';
import type { CampaignSandbox } from '../../sandbox/campaign';
import { SANDBOX_DEFAULTS } from '../../sandbox/defaults';

async function fetchTransport(
	req: HttpRequest,
	extraHeaders: Record<string, string>,
): Promise<HttpResponse> {
	let url = req.url;
	if (req.qs) {
		const qs = Object.entries(req.qs).map(
			([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`,
		);
		if (qs.length) url += (url.includes('?') ? '&' : '?') + qs.join('&');
	}
	const headers: Record<string, string> = { ...(req.headers ?? {}), ...extraHeaders };
	let body: string | undefined;
	if (req.body !== undefined) {
		body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
		if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
			headers['Content-Type'] = 'application/json';
	}
	const response = await fetch(url, { method: req.method, headers, body });
	const text = await response.text();
	const responseHeaders: Record<string, string> = {};
	response.headers.forEach((value, name) => (responseHeaders[name.toLowerCase()] = value));
	let parsed: unknown = text;
	if (text && /json/i.test(responseHeaders['content-type'] ?? '')) parsed = JSON.parse(text);
	return { status: response.status, headers: responseHeaders, body: parsed };
}

export async function campaignTransport(sandbox: CampaignSandbox): Promise<Transport> {
	const { clientId, clientSecret, scopes } = SANDBOX_DEFAULTS.campaign;
	const response = await fetch(`${sandbox.url}/ims/token/v3`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({
			grant_type: 'client_credentials',
			client_id: clientId,
			client_secret: clientSecret,
			scope: scopes,
		}).toString(),
	});
	const { access_token: token } = (await response.json()) as { access_token: string };
	return {
		request: <T>(req: HttpRequest) =>
			fetchTransport(req, { Authorization: `Bearer ${token}`, 'X-Api-Key': clientId }) as Promise<
				HttpResponse<T>
			>,
	};
}
