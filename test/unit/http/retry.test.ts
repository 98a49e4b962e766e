import {
	backoffDelay,
	parseRetryAfter,
	TransportError,
	withRetry,
	type HttpRequest,
	type RetryEvent,
	type RetryPolicy,
} from '../../../lib/http';
import { fakeClock, reply, ScriptedTransport, type Step } from './fake-transport';

const get: HttpRequest = {
	method: 'GET',
	url: 'https://org.example/api/data/v9.2/contacts',
	route: 'contacts:GET',
};

function setup(steps: Step[], policy: Partial<RetryPolicy> = {}) {
	const transport = new ScriptedTransport(steps);
	const clock = fakeClock(Date.UTC(2025, 0, 1, 12, 0, 0));
	const retries: RetryEvent[] = [];
	// Attempts per route label.
	const counter = new Map<string, number>();
	const client = withRetry(
		transport,
		{ random: () => 0.5, sleep: clock.sleep, now: clock.now, ...policy },
		{
			onRequest: (route) => counter.set(route, (counter.get(route) ?? 0) + 1),
			onRetry: (e) => retries.push(e),
		},
	);
	return { transport, clock, retries, counter, client };
}

describe('withRetry', () => {
	describe('Retry-After', () => {
		it('waits the number of seconds a 429 asks for, then returns the success', async () => {
			const { client, clock, transport } = setup([
				reply(429, { 'retry-after': '7' }),
				reply(200, {}, { ok: 1 }),
			]);
			const res = await client.request(get);
			expect(res.status).toBe(200);
			expect(res.body).toEqual({ ok: 1 });
			expect(clock.sleeps).toEqual([7000]);
			expect(transport.calls).toHaveLength(2);
		});

		it('waits until the HTTP date a 429 names', async () => {
			const transport = new ScriptedTransport([]);
			const clock = fakeClock(Date.UTC(2025, 0, 1, 12, 0, 0));
			const at = new Date(clock.nowMs + 12_000).toUTCString();
			transport.steps.push(reply(429, { 'retry-after': at }), reply(204));
			const client = withRetry(transport, { sleep: clock.sleep, now: clock.now });
			expect((await client.request(get)).status).toBe(204);
			expect(clock.sleeps).toEqual([12_000]);
		});

		it('prefers the precise x-ms-retry-after-ms of Dataverse over Retry-After', async () => {
			const { client, clock } = setup([
				reply(429, { 'retry-after': '2', 'x-ms-retry-after-ms': '1250' }),
				reply(200),
			]);
			await client.request(get);
			expect(clock.sleeps).toEqual([1250]);
		});

		it('falls back to jittered backoff when a 429 has no Retry-After', async () => {
			const { client, clock } = setup([reply(429), reply(429), reply(200)], {
				baseDelayMs: 100,
				random: () => 0.5,
			});
			await client.request(get);
			// retry 1: 0.5 * 100, retry 2: 0.5 * 200
			expect(clock.sleeps).toEqual([50, 100]);
		});

		it('is not capped by maxDelayMs: the server knows its own window', async () => {
			const { client, clock } = setup([reply(429, { 'retry-after': '45' }), reply(200)], {
				maxDelayMs: 1000,
			});
			await client.request(get);
			expect(clock.sleeps).toEqual([45_000]);
		});

		it('parses seconds, dates, garbage and absence', () => {
			const now = Date.UTC(2025, 0, 1);
			expect(parseRetryAfter({ 'retry-after': '3' }, now)).toBe(3000);
			expect(parseRetryAfter({ 'retry-after': '0.5' }, now)).toBe(500);
			expect(parseRetryAfter({ 'retry-after': new Date(now + 4000).toUTCString() }, now)).toBe(
				4000,
			);
			expect(parseRetryAfter({ 'retry-after': new Date(now - 4000).toUTCString() }, now)).toBe(0);
			expect(parseRetryAfter({ 'retry-after': 'soon' }, now)).toBeUndefined();
			expect(parseRetryAfter({}, now)).toBeUndefined();
		});
	});

	describe('gateway and availability errors', () => {
		it.each([500, 502, 503, 504])('retries a GET answered %i', async (status) => {
			const { client, transport, retries } = setup([reply(status), reply(200)]);
			const res = await client.request(get);
			expect(res.status).toBe(200);
			expect(transport.calls).toHaveLength(2);
			expect(retries[0].reason).toEqual({ kind: 'status', status });
			expect(retries[0].route).toBe('contacts:GET');
		});

		it('returns at once an answer the request recognises as deterministic; others still retry', async () => {
			const deterministic = (res: { status: number; body: unknown }) =>
				res.status === 500 && JSON.stringify(res.body).includes('duplicate key');
			const named = setup([
				reply(500, {}, { message: 'PGS-220000 duplicate key value' }),
				reply(200),
			]);
			const res = await named.client.request({ ...get, deterministic });
			expect(res.status).toBe(500);
			expect(named.transport.calls).toHaveLength(1);
			const other = setup([reply(500, {}, { message: 'try later' }), reply(200)]);
			expect((await other.client.request({ ...get, deterministic })).status).toBe(200);
			expect(other.transport.calls).toHaveLength(2);
		});

		it.each([400, 403, 404, 409, 412])('does not retry %i', async (status) => {
			const { client, transport } = setup([reply(status), reply(200)]);
			const res = await client.request(get);
			expect(res.status).toBe(status);
			expect(transport.calls).toHaveLength(1);
		});

		it('sends once more, at once, after a 401 (a token revoked right after its refresh), then gives up', async () => {
			const post: HttpRequest = { ...get, method: 'POST' };
			const once = setup([reply(401), reply(201)]);
			expect((await once.client.request(post)).status).toBe(201);
			expect(once.clock.sleeps).toEqual([0]);
			const twice = setup([reply(401), reply(401), reply(200)]);
			expect((await twice.client.request(get)).status).toBe(401);
			expect(twice.transport.calls).toHaveLength(2);
		});
	});

	describe('transport errors', () => {
		it.each(['ECONNRESET', 'ETIMEDOUT'] as const)('retries a GET after %s', async (code) => {
			const { client, transport, retries } = setup([new TransportError('x', code), reply(200)]);
			expect((await client.request(get)).status).toBe(200);
			expect(transport.calls).toHaveLength(2);
			expect(retries[0].reason).toEqual({ kind: 'transport', code });
		});

		it('does not retry a refused connection (a wrong URL is not transient)', async () => {
			const { client, transport } = setup([
				new TransportError('refused', 'ECONNREFUSED'),
				reply(200),
			]);
			await expect(client.request(get)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
			expect(transport.calls).toHaveLength(1);
		});

		it('passes errors that are not transport errors straight through', async () => {
			const { client, transport } = setup([new Error('credential is broken'), reply(200)]);
			await expect(client.request(get)).rejects.toThrow('credential is broken');
			expect(transport.calls).toHaveLength(1);
		});

		it('rethrows the last TransportError when attempts run out', async () => {
			const { client, transport } = setup(
				[new TransportError('a', 'ECONNRESET'), new TransportError('b', 'ETIMEDOUT')],
				{ maxAttempts: 2 },
			);
			await expect(client.request(get)).rejects.toMatchObject({ code: 'ETIMEDOUT', message: 'b' });
			expect(transport.calls).toHaveLength(2);
		});
	});

	describe('attempts and deadline', () => {
		it('returns the last answer when attempts run out, so the service code reaches the caller', async () => {
			const body = {
				error: { code: '0x80072322', message: 'Number of requests exceeded the limit' },
			};
			const { client, transport } = setup(
				[reply(429, {}, body), reply(429, {}, body), reply(429, { 'retry-after': '1' }, body)],
				{ maxAttempts: 3 },
			);
			const res = await client.request(get);
			expect(res.status).toBe(429);
			expect(res.body).toEqual(body);
			expect(transport.calls).toHaveLength(3);
		});

		it('gives up instead of waiting past the deadline', async () => {
			const { client, transport, clock } = setup(
				[reply(503, { 'retry-after': '20' }), reply(503, { 'retry-after': '20' }), reply(200)],
				{ deadlineMs: 30_000 },
			);
			const res = await client.request(get);
			// 20 s fits in 30 s; a second 20 s wait would end at 40 s
			expect(res.status).toBe(503);
			expect(clock.sleeps).toEqual([20_000]);
			expect(transport.calls).toHaveLength(2);
		});

		it('counts time spent inside attempts against the deadline', async () => {
			const transport = new ScriptedTransport([reply(504), reply(504), reply(200)]);
			const clock = fakeClock(0);
			const slow = {
				request: async <T>(req: HttpRequest) => {
					clock.nowMs += 9_000; // each attempt takes 9 s
					return await transport.request<T>(req);
				},
			};
			const client = withRetry(slow, {
				deadlineMs: 20_000,
				baseDelayMs: 1000,
				random: () => 0.999,
				sleep: clock.sleep,
				now: clock.now,
			});
			const res = await client.request(get);
			expect(res.status).toBe(504);
			expect(transport.calls).toHaveLength(2);
		});
	});

	describe('repeating writes', () => {
		const post: HttpRequest = {
			method: 'POST',
			url: 'https://mc.example/org/campaign/profileAndServices/profile',
			body: { email: 'a@b.c' },
		};
		const patch: HttpRequest = {
			method: 'PATCH',
			url: 'https://org.example/api/data/v9.2/contacts(1)',
			body: { firstname: 'Ana' },
		};

		it.each([
			['POST', post],
			['PATCH', patch],
		])(
			'does not repeat a %s after 502, 504 or a reset: it may have been applied',
			async (_m, req) => {
				for (const failure of [reply(502), reply(504)]) {
					const { client, transport } = setup([failure, reply(201)]);
					expect((await client.request(req)).status).toBe(failure.status);
					expect(transport.calls).toHaveLength(1);
				}
				const { client, transport } = setup([
					new TransportError('reset', 'ECONNRESET'),
					reply(201),
				]);
				await expect(client.request(req)).rejects.toMatchObject({ code: 'ECONNRESET' });
				expect(transport.calls).toHaveLength(1);
			},
		);

		it.each([
			['POST', post],
			['PATCH', patch],
		])('repeats a %s the server refused with 429 or 503', async (_m, req) => {
			const { client, transport } = setup([
				reply(429, { 'retry-after': '1' }),
				reply(503),
				reply(201),
			]);
			expect((await client.request(req)).status).toBe(201);
			expect(transport.calls).toHaveLength(3);
		});

		it.each([
			['POST', post],
			['PATCH', patch],
		])('repeats a repeat-safe %s after 502, 504 and resets', async (_m, req) => {
			const { client, transport } = setup([
				reply(502),
				new TransportError('t', 'ETIMEDOUT'),
				reply(504),
				reply(200),
			]);
			expect((await client.request({ ...req, repeatSafe: true })).status).toBe(200);
			expect(transport.calls).toHaveLength(4);
		});

		it.each(['PUT', 'DELETE'] as const)('treats %s as idempotent', async (method) => {
			const { client, transport } = setup([
				new TransportError('r', 'ECONNRESET'),
				reply(502),
				reply(204),
			]);
			expect((await client.request({ method, url: 'https://x.example/a(1)' })).status).toBe(204);
			expect(transport.calls).toHaveLength(3);
		});
	});

	describe('backoff', () => {
		it('grows exponentially and stops at maxDelayMs', () => {
			const top = { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.9999999 };
			expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, top))).toEqual([
				99, 199, 399, 799, 999, 999,
			]);
		});

		it('draws the full jitter range: 0 at the bottom, below the ceiling at the top', () => {
			expect(backoffDelay(4, { baseDelayMs: 100, maxDelayMs: 10_000, random: () => 0 })).toBe(0);
			for (const r of [0.1, 0.25, 0.75, 0.999]) {
				const d = backoffDelay(3, { baseDelayMs: 100, maxDelayMs: 10_000, random: () => r });
				expect(d).toBeGreaterThanOrEqual(0);
				expect(d).toBeLessThan(400);
				expect(d).toBe(Math.floor(r * 400));
			}
		});

		it('sleeps the jittered, capped delays between attempts', async () => {
			const draws = [0.5, 1 - 1e-9, 0.25, 1 - 1e-9];
			const { client, clock } = setup(
				[reply(503), reply(503), reply(503), reply(503), reply(200)],
				{
					baseDelayMs: 1000,
					maxDelayMs: 3000,
					random: () => draws.shift() ?? 0,
				},
			);
			await client.request(get);
			expect(clock.sleeps).toEqual([500, 1999, 750, 2999]);
		});
	});

	describe('hooks', () => {
		it('counts every attempt per route and reports each retry with its delay', async () => {
			const { client, counter, retries } = setup(
				[reply(429, { 'retry-after': '2' }), reply(503), reply(200), reply(200)],
				{
					baseDelayMs: 10,
				},
			);
			await client.request(get);
			await client.request({ method: 'GET', url: 'https://org.example/x' });
			expect(Object.fromEntries(counter)).toEqual({ 'GET org.example': 1, 'contacts:GET': 3 });
			expect(retries.map((r) => [r.attempt, r.delayMs])).toEqual([
				[1, 2000],
				[2, 10],
			]);
		});
	});
});
