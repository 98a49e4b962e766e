/**
 * The adaptive concurrency against a simulated service in virtual time: a gateway that throttles
 * at a number of requests in flight or at a rate, with a fixed latency. The controller must come
 * close to what the limit allows while few requests are throttled. No real time is measured here.
 */
import {
	AdaptiveConcurrency,
	mapWithConcurrency,
	type AdaptiveConcurrencyState,
} from '../../../lib/http/limiter';
import { withRetry } from '../../../lib/http/retry';
import type { HttpRequest, HttpResponse, Transport } from '../../../lib/http/types';

/** Virtual time: timers fire in order when `run` advances the clock. */
class VirtualClock {
	now = 0;
	private timers: Array<{ at: number; seq: number; fire: () => void }> = [];
	private seq = 0;

	sleep = (ms: number): Promise<void> =>
		new Promise((resolve) => {
			this.timers.push({ at: this.now + Math.max(0, ms), seq: this.seq++, fire: resolve });
		});

	/** Runs until `done` settles: fires the earliest timer, then lets promise callbacks run. */
	async run<T>(done: Promise<T>): Promise<T> {
		let settled = false;
		const result = done.finally(() => (settled = true));
		for (;;) {
			await new Promise((resolve) => setImmediate(resolve));
			if (settled) return await result;
			this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
			const next = this.timers.shift();
			if (!next) throw new Error('nothing left to wait for, yet the run has not ended');
			this.now = next.at;
			next.fire();
		}
	}
}

interface ServiceLimits {
	latencyMs: number;
	maxConcurrent?: number;
	maxPerSecond?: number;
}

/** The service's own time per request besides its latency (its gateway's check). */
const CHECK_MS = 1;

/** A service with a gateway that answers 429 (Retry-After 1 s) beyond its limit. */
function service(clock: VirtualClock, limits: ServiceLimits) {
	const stats = { served: 0, throttled: 0, peak: 0 };
	let inFlight = 0;
	let bucket = limits.maxPerSecond ?? 0;
	let refilled = 0;
	const transport: Transport = {
		async request<T>(): Promise<HttpResponse<T>> {
			await clock.sleep(CHECK_MS);
			if (limits.maxPerSecond !== undefined) {
				bucket = Math.min(
					limits.maxPerSecond,
					bucket + ((clock.now - refilled) / 1000) * limits.maxPerSecond,
				);
				refilled = clock.now;
			}
			const overRate = limits.maxPerSecond !== undefined && bucket < 1;
			const overConcurrency =
				limits.maxConcurrent !== undefined && inFlight >= limits.maxConcurrent;
			if (overRate || overConcurrency) {
				stats.throttled++;
				return { status: 429, headers: { 'retry-after': '1' }, body: '' as T };
			}
			if (limits.maxPerSecond !== undefined) bucket -= 1;
			inFlight++;
			stats.peak = Math.max(stats.peak, inFlight);
			await clock.sleep(limits.latencyMs);
			inFlight--;
			stats.served++;
			return { status: 200, headers: {}, body: {} as T };
		},
	};
	return { transport, stats };
}

async function load(
	limits: ServiceLimits,
	records: number,
	adaptive: boolean,
	max = 50,
	learnt?: AdaptiveConcurrencyState,
	/** Requests sent one at a time before the load, as a node reads settings before its records. */
	oneByOneFirst = 0,
) {
	const clock = new VirtualClock();
	const { transport, stats } = service(clock, limits);
	const concurrency = new AdaptiveConcurrency({
		max,
		now: () => clock.now,
		...(adaptive ? { learnt } : { initial: max, slowStart: false, fixed: true }),
	});
	let seed = 7;
	const client = withRetry(concurrency.wrap(transport), {
		sleep: clock.sleep,
		now: () => clock.now,
		random: () => (seed = (seed * 16807) % 2147483647) / 2147483647,
	});
	const request: HttpRequest = { method: 'GET', url: 'http://service/record' };
	for (let i = 0; i < oneByOneFirst; i++) await clock.run(client.request(request));
	const answers = await clock.run(
		mapWithConcurrency(
			Array.from({ length: records }, (_, i) => i),
			max,
			async () => (await client.request(request)).status,
		),
	);
	return {
		perSecond: (stats.served / clock.now) * 1000,
		throttledShare: stats.throttled / (stats.served + stats.throttled),
		failed: answers.filter((s) => s !== 200).length,
		peak: stats.peak,
		reached: concurrency.current,
		state: concurrency.state(),
	};
}

describe('AdaptiveConcurrency', () => {
	it('comes within 10% of a concurrency limit (20 at 100 ms: 200 a second) with at most 1% throttled', async () => {
		const adaptive = await load({ latencyMs: 100, maxConcurrent: 20 }, 6000, true);
		expect(adaptive.perSecond).toBeGreaterThanOrEqual((0.9 * 20 * 1000) / (100 + CHECK_MS));
		expect(adaptive.throttledShare).toBeLessThanOrEqual(0.01);
		expect(adaptive.failed).toBe(0);
		// Today's fixed 50 at once: as fast, at the cost of a throttled answer for many requests.
		const fixed = await load({ latencyMs: 100, maxConcurrent: 20 }, 6000, false);
		expect(fixed.throttledShare).toBeGreaterThan(0.05);
	}, 60_000);

	it('comes within 10% of a rate limit (400 a second at 20 ms) with at most 1% throttled', async () => {
		const adaptive = await load({ latencyMs: 20, maxPerSecond: 400 }, 8000, true);
		expect(adaptive.perSecond).toBeGreaterThanOrEqual(0.9 * 400);
		expect(adaptive.throttledShare).toBeLessThanOrEqual(0.01);
		expect(adaptive.failed).toBe(0);
	}, 60_000);

	it('starts a run where the previous one ended, throttled level included, so a run after the first is hardly throttled', async () => {
		// Runs of a workflow one after the other (an initial load in pages of 5,000 records): the
		// first finds the limit; the ones after start from it and do not overshoot it again.
		for (const limits of [
			{ latencyMs: 20, maxPerSecond: 400 },
			{ latencyMs: 100, maxConcurrent: 20 },
		]) {
			const first = await load(limits, 5000, true, 100);
			expect(first.state.throttled).toBe(true);
			let learnt = first.state;
			for (let run = 0; run < 3; run++) {
				const next = await load(limits, 5000, true, 100, learnt, 20);
				expect(next.throttledShare).toBeLessThanOrEqual(0.002);
				expect(next.perSecond).toBeGreaterThanOrEqual(
					0.9 *
						(limits.maxPerSecond ?? (limits.maxConcurrent! * 1000) / (limits.latencyMs + CHECK_MS)),
				);
				expect(next.failed).toBe(0);
				learnt = next.state;
			}
		}
	}, 60_000);

	it('grows to its ceiling when the service sets no limit, and never past it', async () => {
		const free = await load({ latencyMs: 20 }, 4000, true, 30);
		expect(free.reached).toBe(30);
		expect(free.peak).toBe(30);
		expect(free.perSecond).toBeGreaterThanOrEqual((0.9 * 30 * 1000) / (20 + CHECK_MS));
	}, 60_000);

	it('backs off when latency climbs (a queue forms at the service) and grows again when it falls', () => {
		let now = 0;
		const c = new AdaptiveConcurrency({ max: 50, initial: 20, slowStart: false, now: () => now });
		const answers = (count: number, latencyMs: number) => {
			for (let i = 0; i < count; i++) {
				c.observe(c.current, latencyMs, false);
				now += 5;
			}
		};
		answers(200, 100);
		const before = c.current;
		answers(150, 600);
		expect(c.current).toBeLessThanOrEqual(before * 0.85);
		const low = c.current;
		answers(400, 100);
		expect(c.current).toBeGreaterThan(low);
	});

	it('holds a fixed concurrency whatever the answers, when asked to', () => {
		const c = new AdaptiveConcurrency({ max: 50, initial: 50, slowStart: false, fixed: true });
		for (let i = 0; i < 100; i++) c.observe(50, 10, i % 2 === 0);
		expect(c.current).toBe(50);
		expect(c.throttled).toBe(50);
	});
});
