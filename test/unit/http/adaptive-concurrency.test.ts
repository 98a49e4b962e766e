/**
 * The adaptive concurrency against a simulated service in virtual time: a gateway that throttles
 * at a number of requests in flight or at a rate, with a fixed latency. The controller must come
 * close to what the limit allows while few requests are throttled. No real time is measured here.
 */
import {
	AdaptiveConcurrency,
	mapWithConcurrency,
	type AdaptiveConcurrencyOptions,
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
	/** A busy client, as on a shared machine: see `BUSY_CLIENT`. */
	busyClient?: boolean;
	/** Seed of the latency's variation and of the retries' jitter. */
	seed?: number;
}

/**
 * A client on a busy machine: each request costs it 1.5 ms of its one CPU before it leaves (one
 * after another), the latency varies by up to 20 ms, and every 400 ms the process pauses for 30 to
 * 90 ms (garbage collection, other processes), answers that arrive meanwhile being handled at
 * the end of the pause. Round trips then vary from one moment to the next, and what came back
 * within one of them says little.
 */
const BUSY_CLIENT = { cpuMs: 1.5, jitterMs: 20, pauseEveryMs: 400, pauseMs: 60 };

/** The service's own time per request besides its latency (its gateway's check). */
const CHECK_MS = 1;

function seeded(seed: number): () => number {
	return () => (seed = (seed * 16807) % 2147483647) / 2147483647;
}

/** A service with a gateway that answers 429 (Retry-After 1 s) beyond its limit. */
function service(clock: VirtualClock, limits: ServiceLimits) {
	const stats = { served: 0, throttled: 0, peak: 0 };
	let inFlight = 0;
	let bucket = limits.maxPerSecond ?? 0;
	let refilled = 0;
	let cpuFreeAt = 0;
	const random = seeded(limits.seed ?? 11);
	const busy = limits.busyClient ? BUSY_CLIENT : undefined;
	const transport: Transport = {
		async request<T>(): Promise<HttpResponse<T>> {
			if (busy) {
				cpuFreeAt = Math.max(clock.now, cpuFreeAt) + busy.cpuMs;
				await clock.sleep(cpuFreeAt - clock.now);
			}
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
			await clock.sleep(limits.latencyMs + (busy ? busy.jitterMs * random() : 0));
			inFlight--;
			stats.served++;
			if (busy) {
				const pause = Math.floor(clock.now / busy.pauseEveryMs);
				const pauseMs = busy.pauseMs * (0.5 + ((pause * 7919) % 100) / 100);
				const into = clock.now - pause * busy.pauseEveryMs;
				if (into < pauseMs) await clock.sleep(pauseMs - into);
			}
			return { status: 200, headers: {}, body: {} as T };
		},
	};
	return { transport, stats };
}

const REQUEST: HttpRequest = { method: 'GET', url: 'http://service/record' };

/** A controller on the virtual clock. */
function controller(
	clock: VirtualClock,
	options: Omit<AdaptiveConcurrencyOptions, 'now' | 'sleep'>,
): AdaptiveConcurrency {
	return new AdaptiveConcurrency({ ...options, now: () => clock.now, sleep: clock.sleep });
}

/**
 * `records` requests through the controller's gate and the retries (Retry-After waited out), as
 * Campaign Upsert sends them, `workers` at a time; their last statuses. `oneByOneFirst` requests
 * go one at a time before them.
 */
async function sendAll(
	clock: VirtualClock,
	concurrency: AdaptiveConcurrency,
	transport: Transport,
	random: () => number,
	records: number,
	workers: number,
	oneByOneFirst = 0,
): Promise<number[]> {
	const client = withRetry(concurrency.wrap(transport), {
		sleep: clock.sleep,
		now: () => clock.now,
		random,
	});
	for (let i = 0; i < oneByOneFirst; i++) await clock.run(client.request(REQUEST));
	return await clock.run(
		mapWithConcurrency(
			Array.from({ length: records }, (_, i) => i),
			workers,
			async () => (await client.request(REQUEST)).status,
		),
	);
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
	const concurrency = controller(clock, {
		max,
		...(adaptive ? { learnt } : { initial: max, slowStart: false, fixed: true }),
	});
	const answers = await sendAll(
		clock,
		concurrency,
		transport,
		seeded(7),
		records,
		max,
		oneByOneFirst,
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

/**
 * Runs of a workflow one after the other against one service, each with its own controller that
 * starts from what the previous run learnt (as Campaign Upsert does): `runs` × `perRun` requests.
 */
async function loadInRuns(limits: ServiceLimits, runs: number, perRun: number, max = 100) {
	const clock = new VirtualClock();
	const { transport, stats } = service(clock, limits);
	let learnt: AdaptiveConcurrencyState | undefined;
	const random = seeded((limits.seed ?? 7) + 1);
	let failed = 0;
	for (let run = 0; run < runs; run++) {
		// The trigger's poll and the transformation between two runs.
		if (run) await clock.run(clock.sleep(500));
		const concurrency = controller(clock, { max, learnt });
		const answers = await sendAll(clock, concurrency, transport, random, perRun, max);
		failed += answers.filter((s) => s !== 200).length;
		learnt = concurrency.state();
	}
	return {
		perSecond: (stats.served / clock.now) * 1000,
		throttledShare: stats.throttled / (stats.served + stats.throttled),
		failed,
	};
}

/** Seeds of the busy client's simulations: each is one load; all must meet the target. */
const SEEDS = [3, 7, 99, 1234, 55555];

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

	it('reaches 0.9x of a rate limit (400 a second at 20 and 35 ms) with at most 1% throttled from a busy client, over 20,000 requests in runs of 5,000', async () => {
		// The level after throttling is what the service accepted while it throttled, times the
		// round trip. Taken from one round trip of such a client, or from the requests in flight
		// when most wait out a Retry-After, it landed below the rate (0.87x over one load here), then
		// climbed back a step every 5 s or more; at 35 ms one load had 1.2% throttled.
		const rates: number[] = [];
		for (const [latencyMs, seed] of SEEDS.flatMap((seed) => [20, 35].map((ms) => [ms, seed]))) {
			const limits = { latencyMs, maxPerSecond: 400, busyClient: true, seed };
			const busy = await loadInRuns(limits, 4, 5000);
			rates.push(busy.perSecond / 400);
			expect(busy.perSecond).toBeGreaterThanOrEqual(0.9 * 400);
			expect(busy.throttledShare).toBeLessThanOrEqual(0.01);
			expect(busy.failed).toBe(0);
		}
		// With the level it fell to after an episode as the ceiling (9 or 10 where 11 held):
		// 0.92x to 0.98x; with the level below the one refused: 0.98x to 1.01x.
		expect(Math.min(...rates)).toBeGreaterThanOrEqual(0.95);
	}, 120_000);

	it('keeps to a concurrency limit from a busy client as well as before', async () => {
		// A place is held for the latency, half the jitter on average and the gateway's check; the
		// pauses of the client hold places too, which no level avoids.
		const bound = (20 * 1000) / (100 + BUSY_CLIENT.jitterMs / 2 + CHECK_MS);
		const ratios: number[] = [];
		for (const seed of SEEDS) {
			const limits = { latencyMs: 100, maxConcurrent: 20, busyClient: true, seed };
			const busy = await loadInRuns(limits, 4, 5000);
			ratios.push(busy.perSecond / bound);
			expect(busy.throttledShare).toBeLessThanOrEqual(0.01);
			expect(busy.failed).toBe(0);
		}
		// Before the level after throttling was taken from several round trips: 0.78x to 0.86x,
		// 0.83x on average (after: 0.78x to 0.86x, 0.84x). With the level below the one refused as
		// the ceiling at the first sign of a limit (not the level it fell to): 0.80x to 0.88x,
		// 0.86x; at every sign: 0.86x to 0.88x, 0.87x.
		expect(Math.min(...ratios)).toBeGreaterThanOrEqual(0.85);
		expect(ratios.reduce((a, b) => a + b) / ratios.length).toBeGreaterThanOrEqual(0.86);
	}, 120_000);

	it('climbs back to a concurrency limit within seconds of its first sign, not a step per probe', async () => {
		// At the first sign of a limit the level falls to what came back in the last round trip of
		// the slow start (16 for a limit of 20 in B7). With that level kept as the ceiling, it
		// climbed back one step per probe, 5 s each: here 15 s for a quiet client and 15 to 25 s
		// for a busy one (one load never got back within 5,000 requests).
		for (const busyClient of [false, true]) {
			const backAfter: number[] = [];
			for (const seed of SEEDS) {
				const clock = new VirtualClock();
				const { transport } = service(clock, {
					latencyMs: 100,
					maxConcurrent: 20,
					busyClient,
					seed,
				});
				const concurrency = controller(clock, { max: 100 });
				let firstThrottled: number | undefined;
				let fell = false;
				let back: number | undefined;
				// Behind the gate, so each answer sees the level the answers before it left: it is
				// back once it has fallen below the limit and climbed to it again.
				const watched: Transport = {
					async request<T>(req: HttpRequest): Promise<HttpResponse<T>> {
						const response = await transport.request<T>(req);
						if (response.status === 429) firstThrottled ??= clock.now;
						if (firstThrottled !== undefined && concurrency.current < 19) fell = true;
						if (fell && back === undefined && concurrency.current >= 19) back = clock.now;
						return response;
					},
				};
				await sendAll(clock, concurrency, watched, seeded(seed), 5000, 100);
				expect(firstThrottled).toBeDefined();
				expect(back).toBeDefined();
				backAfter.push(back! - firstThrottled!);
			}
			// Quiet: 3.1 s; busy: 3.1 to 10.4 s.
			expect(Math.max(...backAfter)).toBeLessThanOrEqual(busyClient ? 12_000 : 5_000);
		}
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

	it('keeps the place of a refused request for a round trip, so a gateway that refuses at once is not asked again at once', async () => {
		// A gateway answers 429 at once. When a refused request freed its place at once, the next one
		// was refused as quickly: here every record in hand was refused within 20 ms, and in B7's
		// rate limit about 90 requests an episode.
		const clock = new VirtualClock();
		const refusingFrom = 300;
		// About a round trip: as a rate limit's bucket runs dry for a moment.
		const refusingMs = 20;
		let refused = 0;
		let served = 0;
		const transport: Transport = {
			async request<T>(): Promise<HttpResponse<T>> {
				await clock.sleep(CHECK_MS);
				if (clock.now >= refusingFrom && clock.now < refusingFrom + refusingMs) {
					refused++;
					return { status: 429, headers: { 'retry-after': '1' }, body: '' as T };
				}
				await clock.sleep(20);
				served++;
				return { status: 200, headers: {}, body: {} as T };
			},
		};
		// 20 let through at first, of the 100 records in hand (Campaign Upsert's ceiling).
		const level = 20;
		const inHand = 100;
		const concurrency = controller(clock, { max: inHand, initial: level, slowStart: false });
		const answers = await sendAll(clock, concurrency, transport, seeded(5), 2000, inHand);
		expect(answers.every((status) => status === 200)).toBe(true);
		expect(served).toBe(2000);
		// The requests that arrived within the refusing time, each refused once (34 here), not every
		// record in hand (100 before).
		expect(refused).toBeLessThan(inHand / 2);
	});

	it('hands the next run the level last seen to go well, not a throttled level it has run below since', () => {
		// B7's rate limit: throttled at 80 in flight (the bucket's allowance spent), the level kept as
		// a ceiling was 57 while the run went on at 12 to 17 (the refused requests waiting out their
		// Retry-After); the next run started at 62 and 88 of its requests were refused.
		let now = 0;
		const c = new AdaptiveConcurrency({ max: 100, initial: 60, slowStart: false, now: () => now });
		for (let i = 0; i < 200; i++) {
			c.observe(60, 20, false, true);
			now += 0.35;
		}
		c.observe(60, 20, true, true);
		const { ceiling } = c.state();
		expect(ceiling).toBeGreaterThan(10);
		// A round trip with a few requests in flight, then clean answers to a full gate for 3 s.
		now += 25;
		c.observe(1, 20, false, true);
		for (let i = 0; i < 300; i++) {
			now += 10;
			c.observe(c.current, 20, false, true);
		}
		expect(c.current).toBeLessThan(ceiling! / 2);
		expect(c.state().limit).toBeLessThanOrEqual(c.current + 1);
		expect(c.state().ceiling).toBe(ceiling);
	});

	it('judges a probe once per throttling episode, so the wait before the next probe doubles once per failed probe, not once per cut', async () => {
		// An episode cuts once a round trip while refusals last. Each cut judged the last probe
		// anew and doubled the wait: 40 to 60 s after one or two runs in 6 of these 10 loads (and
		// B7's rate limit stuck at one level for all four runs). Once per episode: 20 s at most.
		for (const seed of SEEDS) {
			for (const latencyMs of [20, 35]) {
				const clock = new VirtualClock();
				const limits = { latencyMs, maxPerSecond: 400, busyClient: true, seed };
				const { transport } = service(clock, limits);
				let learnt: AdaptiveConcurrencyState | undefined;
				for (let run = 0; run < 4; run++) {
					if (run) await clock.run(clock.sleep(500));
					const concurrency = controller(clock, { max: 100, learnt });
					await sendAll(clock, concurrency, transport, seeded(seed), 5000, 100);
					learnt = concurrency.state();
					expect(learnt.probeAfterMs).toBeLessThanOrEqual(20_000);
				}
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
