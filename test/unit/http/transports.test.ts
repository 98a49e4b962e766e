import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { ICredentialType } from 'n8n-workflow';

import { n8nTransport, TransportError, type Transport } from '../../../lib/http';
import { axiosTransport, type AxiosTransport } from '../../../sandbox/harness/axios-transport';
import { n8nTestContext } from './n8n-context';

/** What the echo server saw. */
interface Seen {
	method: string;
	url: string;
	headers: http.IncomingHttpHeaders;
	body: string;
}

/** A loopback server whose behaviour each test picks by path. */
async function startEcho() {
	const seen: Seen[] = [];
	const sockets = new Set<import('node:net').Socket>();
	const server = http.createServer((req, res) => {
		let body = '';
		req.on('data', (c: Buffer) => (body += c.toString('utf8')));
		req.on('end', () => {
			seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
			const path = (req.url ?? '').split('?')[0];
			if (path === '/reset') {
				req.socket.destroy();
				return;
			}
			if (path === '/hang') return; // never answers
			if (path === '/text') {
				res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Custom-Header': 'Yes' });
				res.end('10');
				return;
			}
			if (path === '/empty') {
				res.writeHead(204);
				res.end();
				return;
			}
			if (path === '/error') {
				res.writeHead(500, { 'Content-Type': 'application/json' });
				res.end('{"error":{"code":"0x80040265","message":"plug-in failed"}}');
				return;
			}
			if (path === '/throttled') {
				res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '3' });
				res.end('{"error":{"code":"0x80072322","message":"too many"}}');
				return;
			}
			res.writeHead(200, { 'Content-Type': 'application/json; odata.metadata=minimal' });
			res.end(JSON.stringify({ ok: true, path }));
		});
	});
	server.on('connection', (s) => {
		sockets.add(s);
		s.on('close', () => sockets.delete(s));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return {
		url,
		seen,
		close: async () => {
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

const staticToken: ICredentialType = {
	name: 'staticTokenApi',
	displayName: 'Static token',
	properties: [{ displayName: 'Token', name: 'token', type: 'string', default: '' }],
	authenticate: {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.token}}' } },
	},
};

let echo: Awaited<ReturnType<typeof startEcho>>;
let axiosOne: AxiosTransport;
beforeAll(async () => {
	echo = await startEcho();
	axiosOne = axiosTransport({ headers: { Authorization: 'Bearer static-1' } });
});
afterAll(async () => {
	axiosOne.close();
	await echo.close();
});
beforeEach(() => echo.seen.splice(0));

const transports: Array<[string, () => Transport]> = [
	[
		'n8n',
		() => n8nTransport(n8nTestContext(staticToken, { token: 'static-1' }).ctx, 'staticTokenApi'),
	],
	['axios', () => axiosOne],
];

describe.each(transports)('%s transport', (_name, make) => {
	it('sends a string body untouched with the caller’s Content-Type (a $batch body)', async () => {
		const body =
			'--batch_1\r\nContent-Type: application/http\r\n\r\nGET contacts HTTP/1.1\r\n\r\n--batch_1--\r\n';
		const res = await make().request({
			method: 'POST',
			url: `${echo.url}/api/data/v9.2/$batch`,
			headers: { 'Content-Type': 'multipart/mixed; boundary=batch_1' },
			body,
		});
		expect(res.status).toBe(200);
		expect(echo.seen[0].body).toBe(body);
		expect(echo.seen[0].headers['content-type']).toBe('multipart/mixed; boundary=batch_1');
		expect(echo.seen[0].headers.authorization).toBe('Bearer static-1');
	});

	it('sends objects as JSON and appends qs with %20 encoding', async () => {
		await make().request({
			method: 'PATCH',
			url: `${echo.url}/contacts(1)?a=1`,
			qs: { $filter: "lastname eq 'O''Neil'" },
			body: { firstname: 'Ana' },
		});
		const seen = echo.seen[0];
		expect(seen.method).toBe('PATCH');
		// Node's URL parser may escape the quotes; what matters is %20 for spaces, never '+'
		expect(seen.url).toMatch(/^\/contacts\(1\)\?a=1&\$filter=lastname%20eq%20/);
		expect(decodeURIComponent(seen.url)).toBe("/contacts(1)?a=1&$filter=lastname eq 'O''Neil'");
		expect(JSON.parse(seen.body)).toEqual({ firstname: 'Ana' });
		expect(seen.headers['content-type']).toMatch(/^application\/json/);
	});

	it('parses JSON, keeps text as text, gives empty bodies as empty strings, lower-cases headers', async () => {
		const t = make();
		expect((await t.request({ method: 'GET', url: `${echo.url}/json` })).body).toEqual({
			ok: true,
			path: '/json',
		});
		const text = await t.request({ method: 'GET', url: `${echo.url}/text` });
		expect(text.body).toBe('10');
		expect(text.headers['x-custom-header']).toBe('Yes');
		const empty = await t.request({ method: 'DELETE', url: `${echo.url}/empty` });
		expect(empty).toMatchObject({ status: 204, body: '' });
	});

	it('answers error statuses as responses, with the service body and headers', async () => {
		const t = make();
		const failed = await t.request({ method: 'GET', url: `${echo.url}/error` });
		expect(failed.status).toBe(500);
		expect(failed.body).toEqual({ error: { code: '0x80040265', message: 'plug-in failed' } });
		const throttled = await t.request({ method: 'GET', url: `${echo.url}/throttled` });
		expect(throttled.status).toBe(429);
		expect(throttled.headers['retry-after']).toBe('3');
	});

	it('throws TransportError ECONNRESET when the connection is dropped', async () => {
		const error = await make()
			.request({ method: 'GET', url: `${echo.url}/reset` })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TransportError);
		expect(error).toMatchObject({ code: 'ECONNRESET' });
	});

	it('throws TransportError ETIMEDOUT when no answer comes in time', async () => {
		const error = await make()
			.request({ method: 'GET', url: `${echo.url}/hang`, timeoutMs: 200 })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TransportError);
		expect(error).toMatchObject({ code: 'ETIMEDOUT' });
	});

	it('throws TransportError ECONNREFUSED when nothing listens', async () => {
		const error = await make()
			.request({ method: 'GET', url: 'http://127.0.0.1:9/nothing?secret=x' })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TransportError);
		expect(error).toMatchObject({ code: 'ECONNREFUSED' });
		expect((error as Error).message).not.toContain('secret=x');
	});
});
