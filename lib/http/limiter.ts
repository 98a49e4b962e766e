import { sleep as n8nSleep } from 'n8n-workflow';

import type { HttpRequest, HttpResponse, Transport } from './types';

function checkMax(max: number): void {
	if (!Number.isInteger(max) || max < 1) {
		throw new RangeError(`Concurrency must be a whole number of at least 1, got ${max}`);
	}
}

/**
 * Maps `items` through `fn` with at most `max` calls in flight and returns the results in input
 * order. On the first rejection no new item is started; the calls in flight are awaited, then that
 * first error is thrown (so nothing keeps running behind the caller's back). Callers that want
 * per-item errors catch inside `fn`.
 */
export async function mapWithConcurrency<T, R>(
	items: readonly T[],
	max: number,
	fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
	checkMax(max);
	const results = new Array<R>(items.length);
	let next = 0;
	let failed = false;
	let firstError: unknown;

	const worker = async () => {
		while (!failed && next < items.length) {
			const index = next++;
			try {
				results[index] = await fn(items[index], index);
			} catch (error) {
				if (!failed) {
					failed = true;
					firstError = error;
				}
			}
		}
	};

	await Promise.all(Array.from({ length: Math.min(max, items.length) }, worker));
	if (failed) throw firstError;
	return results;
}

export interface AdaptiveConcurrencyOptions {
	/** The most requests in flight, whatever the answers (the user's setting). */
	max: number;
	/** Requests in flight at the start (default: up to 8). */
	initial?: number;
	/** Grow fast (one more per clean answer) until the first sign of a limit (default true). */
	slowStart?: boolean;
	/** What an earlier run learnt (see `state`): it starts there instead of `initial`. */
	learnt?: AdaptiveConcurrencyState;
	/** Keep `initial` whatever the answers: a fixed concurrency that is only observed. */
	fixed?: boolean;
	/** Clock in milliseconds. */
	now?: () => number;
	/** Waits `ms` milliseconds (on the same clock as `now`). */
	sleep?: (ms: number) => Promise<void>;
}

/** What an `AdaptiveConcurrency` has learnt, to start another run where this one ended. */
export interface AdaptiveConcurrencyState {
	limit: number;
	slowStart: boolean;
	/**
	 * The service has throttled: the next run grows as carefully as this one did after that, and
	 * keeps below the last throttled level (when set) until it probes again.
	 */
	throttled?: boolean;
	ceiling?: number;
	/** How long the ceiling is kept before it is tried again (longer each time a try fails). */
	probeAfterMs?: number;
}

/** How long the level that was throttled is kept as a ceiling before it is tried again. */
const PROBE_AFTER_MS = 5_000;
const PROBE_AFTER_MAX_MS = 60_000;
/** Latency that grows past twice the quiet latency (and this much more) means a queue forms. */
const LATENCY_SLACK_MS = 50;
const LATENCY_WARM_UP = 100;
/** Round trips over which what the service served is averaged (one alone is a handful of answers). */
const SERVED_ROUND_TRIPS = 4;
/** Throttled answers closer together than this belong to one episode. */
const EPISODE_GAP_MS = 1_000;
/** Round trips an episode lasts before its accepted rate is taken for the service's. */
const EPISODE_MIN_ROUND_TRIPS = 3;

/**
 * Finds how many requests a service takes at once: a gate that lets at most `current` requests
 * through, and a controller that moves `current` with the answers (in the manner of TCP's
 * congestion control, per request). It grows while answers come back clean and fast: by one per
 * answer at first, then by one per round trip. On 429 or 503 (throttling) it falls below the level
 * the refused request was sent at, and to what the service really served per round trip: in the
 * last one at the first sign of a limit, then over the last few (one round trip of a busy client
 * holds a handful of answers, and a level taken from it lands well below the limit); once a
 * throttling episode has lasted a few round trips, to what the service accepted during it times
 * the round trip. That is the service's concurrency for a concurrency limit, and its rate times
 * the round trip for a rate limit. When latency climbs well above its quiet level (a queue
 * forming at the service) it falls by a tenth per round trip. It never exceeds `max`. The level
 * below the one refused is kept as a ceiling for a while (not the level it fell to, which may lie
 * below what the service takes), then raised a step at a time, so a limit that rose is found too,
 * at the cost of a few throttled answers per try; a try that meets the same limit again waits
 * longer before the next. A refused request keeps its place for a round trip (a gateway refuses
 * at once). What it learnt carries over to the next run (`state`, `learnt`): the level last seen
 * to go well, the ceiling and the caution.
 */
export class AdaptiveConcurrency {
	private readonly max: number;
	private readonly now: () => number;
	private readonly sleep: (ms: number) => Promise<void>;
	private readonly fixed: boolean;
	private limit: number;
	private slowStart: boolean;
	private inFlight = 0;
	private readonly waiting: Array<(level: number) => void> = [];
	/**
	 * The level below the one last refused (or the level it fell to, if higher), kept as a ceiling
	 * until `probeAt`; then a step higher (a probe), and so on while the service does not throttle.
	 */
	private ceiling: number | undefined;
	private probeAt = 0;
	/** The ceiling the last probe started from, until a throttling episode has judged it. */
	private probedFrom: number | undefined;
	/** The episode (its start) whose first cut judged the last probe. */
	private judgedEpisode = -Infinity;
	private throttledOnce = false;
	private probeAfterMs = PROBE_AFTER_MS;
	private lastCut = -Infinity;
	private lastThrottled = -Infinity;
	/**
	 * A throttling episode (throttled answers no further apart than `EPISODE_GAP_MS`): when it began,
	 * the clean answers to requests sent since then and when the last of those was sent, so that
	 * its accepted rate can be told; and the level that rate implies (accepted per millisecond × the
	 * round trip), once the episode is long enough.
	 */
	private episodeStart = -Infinity;
	private episodeAccepted = 0;
	private episodeLastSent = -Infinity;
	private rateLevel: number | undefined;
	/** Lowest latency seen lately (the service without a queue), and a smoothed latency. */
	private quietMs: number | undefined;
	private quietWindowMin = Infinity;
	private quietWindowCount = 0;
	private smoothedMs: number | undefined;
	/** When the recent clean answers came back, oldest first. */
	private readonly served: number[] = [];
	/**
	 * The most requests in flight in the current round trip (counted when they are let through,
	 * so the first answers of a run do not stand for what the run sent), and when it began.
	 */
	private usedPeak = 0;
	private usedSince = 0;
	/**
	 * The level last seen to go well: the limit when a clean answer came to a full gate. A run's
	 * end (fewer requests left than places) and the requests waiting out a Retry-After bring the
	 * limit down without saying anything of the service; a ceiling kept from a throttled level may
	 * lie far above what the service took since. The next run starts here.
	 */
	private wentWell: number | undefined;
	/** Answers seen, and how many were throttled. */
	answers = 0;
	throttled = 0;

	constructor(options: AdaptiveConcurrencyOptions) {
		checkMax(options.max);
		this.max = options.max;
		this.now = options.now ?? (() => Date.now());
		// Nodes may not use timers directly, hence n8n's `sleep` by default.
		this.sleep = options.sleep ?? (async (ms) => await n8nSleep(ms));
		const { learnt } = options;
		this.limit = Math.min(this.max, Math.max(1, learnt?.limit ?? options.initial ?? 8));
		this.slowStart = learnt?.slowStart ?? options.slowStart ?? true;
		// A run starts where the last one ended: without what the throttling taught it, a run of
		// a workflow after the first would find the limit again, overshooting it as the first did.
		if (learnt?.throttled) this.throttledOnce = true;
		if (learnt?.probeAfterMs !== undefined) this.probeAfterMs = learnt.probeAfterMs;
		if (learnt?.ceiling !== undefined) {
			this.ceiling = learnt.ceiling;
			this.probeAt = this.now() + this.probeAfterMs;
		}
		// The first round trip is measured from here, not from the clock's zero: otherwise the
		// first answer alone (sent when one request was in flight) would be taken for the use of
		// a whole round trip, and a run starting after throttling would fall to one request.
		this.usedSince = this.now();
		this.fixed = options.fixed === true;
	}

	/** Requests let through at once now. */
	get current(): number {
		return Math.max(1, Math.floor(this.limit));
	}

	/**
	 * What it has learnt: the level last seen to go well (`wentWell`), or where it started when the
	 * gate was never full.
	 */
	state(): AdaptiveConcurrencyState {
		return {
			limit: this.wentWell ?? this.limit,
			slowStart: this.slowStart,
			...(this.throttledOnce ? { throttled: true } : {}),
			...(this.ceiling !== undefined ? { ceiling: this.ceiling } : {}),
			...(this.throttledOnce ? { probeAfterMs: this.probeAfterMs } : {}),
		};
	}

	/** The level found (see `state`), as a whole number of requests. */
	get found(): number {
		return Math.max(1, Math.floor(this.state().limit));
	}

	/** The transport with this gate in front: each attempt waits for its turn and is observed. */
	wrap(transport: Transport): Transport {
		return {
			request: async <T>(req: HttpRequest): Promise<HttpResponse<T>> => {
				const level = await this.acquire();
				// The gate was full if this request took its last place or others wait behind it.
				const full = level >= this.current || this.waiting.length > 0;
				const started = this.now();
				let throttled = false;
				try {
					const response = await transport.request<T>(req);
					throttled = THROTTLED.includes(response.status);
					this.observe(level, this.now() - started, throttled, full);
					return response;
				} finally {
					if (throttled) this.releaseAfter(started + (this.smoothedMs ?? 0));
					else this.release();
				}
			},
		};
	}

	/**
	 * One answer: the requests in flight when it was sent, its latency, whether it was throttled,
	 * and whether the gate was full when it was sent (only then does a clean answer say that the
	 * level itself went well).
	 */
	observe(
		level: number,
		latencyMs: number,
		throttled: boolean,
		full = level >= this.current,
	): void {
		const now = this.now();
		this.answers++;
		const roundTrip = Math.max(this.smoothedMs ?? latencyMs, 1);
		// One cut per round trip: the answers to requests sent before a cut tell nothing new.
		const mayCut = now - this.lastCut >= roundTrip;
		if (throttled) this.throttled++;
		if (this.fixed) return;
		if (throttled) {
			this.throttledOnce = true;
			if (now - this.lastThrottled > Math.max(EPISODE_GAP_MS, 4 * roundTrip)) {
				this.episodeStart = now;
				this.episodeAccepted = 0;
				this.episodeLastSent = now;
				this.rateLevel = undefined;
			}
			this.lastThrottled = now;
			this.noteEpisodeRate();
			if (!mayCut) return;
			// What the service served in the last round trip, once a clean answer tells how long
			// a round trip is; once the episode tells the service's rate, what that rate allows.
			const trips = this.slowStart ? 1 : SERVED_ROUND_TRIPS;
			const served =
				this.smoothedMs === undefined
					? Infinity
					: this.servedWithin(trips * this.smoothedMs, now) / trips;
			// Below the level it was refused at, when the gate was full: with fewer in flight (the
			// others waiting out a Retry-After) the level says nothing of the service.
			this.cut(Math.min(full ? level - 1 : Infinity, this.rateLevel ?? served), now);
			// A probe past the last ceiling that finds about the same limit again is tried less often;
			// a limit found elsewhere starts the waits over. Judged once per episode, at its first cut:
			// the cuts after it (one a round trip while refusals last) are the same finding, and
			// judged each, they doubled the wait up to its longest (60 s) within one episode, so
			// the runs after the first never probed (B7's rate limit stuck at 10 for all four runs,
			// 0.88x of the rate).
			if (this.judgedEpisode !== this.episodeStart) {
				this.judgedEpisode = this.episodeStart;
				this.probeAfterMs =
					this.probedFrom !== undefined && this.current <= this.probedFrom + 1
						? Math.min(this.probeAfterMs * 2, PROBE_AFTER_MAX_MS)
						: PROBE_AFTER_MS;
				this.probedFrom = undefined;
			}
			// The ceiling is the level below the one the service refused, not the level it fell to:
			// from there it grows again (one more a second at most) to the ceiling. At the first sign
			// of a limit, what came back in the one round trip of a slow start that was still
			// doubling lies well below the limit (16 for a limit of 20, B7); kept as the ceiling, the
			// level climbed back a step per probe, 5 s each (20 s at 80–95% of the limit in the
			// first run). Under a rate limit, what an episode accepted times a round trip measured
			// while the refusals shortened it lands a level or two below the rate (9 or 10 where 11
			// held, B7).
			this.ceiling = full ? Math.max(this.current, level - 1) : this.current;
			this.probeAt = now + this.probeAfterMs;
			return;
		}
		this.noteLatency(latencyMs);
		this.served.push(now);
		const sent = now - latencyMs;
		if (sent >= this.episodeStart) {
			this.episodeAccepted++;
			this.episodeLastSent = Math.max(this.episodeLastSent, sent);
		}
		this.servedWithin(2 * SERVED_ROUND_TRIPS * roundTrip, now);
		if (now - this.usedSince >= roundTrip) {
			// Just after throttling, a limit the requests did not fill for a whole round trip (the
			// others wait out their Retry-After) is brought down to what they used, so that the
			// refused requests do not all come back at once above the service's limit. Not later:
			// a node sending one request at a time (reading its settings) says nothing of the limit.
			const recentlyThrottled = now - this.lastThrottled < PROBE_AFTER_MS;
			if (recentlyThrottled && this.usedPeak < this.current) {
				// Not below what the service's rate was seen to allow: the requests that were free
				// then were only those not waiting out a Retry-After, a number that says nothing of
				// the service.
				this.limit = Math.max(1, this.usedPeak, Math.min(this.limit, this.rateLevel ?? 0));
			}
			this.usedPeak = this.inFlight;
			this.usedSince = now;
		}
		const quiet = this.quietMs ?? latencyMs;
		// Latency is judged once enough answers have come to know the quiet level: the first ones
		// also carry the start of the run (connections, compilation), which says nothing of a queue.
		const queued =
			this.answers - this.throttled > LATENCY_WARM_UP &&
			(this.smoothedMs ?? 0) > 2 * quiet + LATENCY_SLACK_MS;
		if (queued) {
			if (mayCut) this.cut(this.limit * 0.9, now);
			return;
		}
		if (!full) return;
		this.wentWell = this.limit;
		// Growth: one more per answer at first (doubling each round trip), then one more per round
		// trip; once the service has throttled, one more per second at most, as a rate limit's
		// allowance for bursts may take that long to show the level is too high.
		const step = this.slowStart ? 1 : 1 / this.limit;
		this.limit += this.throttledOnce ? Math.min(step, roundTrip / 1000 / this.limit) : step;
		if (this.ceiling !== undefined) {
			if (now >= this.probeAt) {
				// A probe: one step past the ceiling, held for a while before the next step. A rate
				// limit's allowance for bursts hides a level too high for seconds; growing freely
				// past the ceiling would meet it far above the limit, with every request in flight
				// refused at once.
				this.probedFrom = this.ceiling;
				this.ceiling += Math.max(1, Math.floor(this.ceiling / 10));
				this.probeAt = now + this.probeAfterMs;
			}
			this.limit = Math.min(this.limit, this.ceiling + 0.99);
		}
		this.limit = Math.min(this.limit, this.max);
		this.wake();
	}

	/**
	 * The level the service's rate allows, from the clean answers since the episode began: while it
	 * throttles, a rate limit's allowance for bursts is spent and it accepts exactly its rate; a
	 * concurrency limit accepts its number per round trip. Told once the episode has lasted a few
	 * round trips. Only requests sent since it began count (the ones sent before it met a service
	 * that still had room), over the time they were sent in.
	 */
	private noteEpisodeRate(): void {
		const elapsed = this.episodeLastSent - this.episodeStart;
		if (this.smoothedMs === undefined || elapsed < EPISODE_MIN_ROUND_TRIPS * this.smoothedMs) {
			return;
		}
		this.rateLevel = Math.max(1, (this.episodeAccepted / elapsed) * this.smoothedMs);
	}

	/** Clean answers within the last `ms` (older ones are forgotten). */
	private servedWithin(ms: number, now: number): number {
		let first = 0;
		while (first < this.served.length && this.served[first] < now - ms) first++;
		this.served.splice(0, first);
		return this.served.length;
	}

	private cut(to: number, now: number): void {
		this.limit = Math.max(1, Math.min(this.limit, to));
		this.slowStart = false;
		this.lastCut = now;
	}

	private noteLatency(ms: number): void {
		// Smoothed over a few dozen answers, so that one slow moment (a pause of this process) is not
		// taken for a queue at the service.
		this.smoothedMs = this.smoothedMs === undefined ? ms : this.smoothedMs * 0.95 + ms * 0.05;
		// The quiet latency is the lowest of the last window of answers (or of the one before), so
		// it follows a service whose latency changes for good.
		this.quietWindowMin = Math.min(this.quietWindowMin, ms);
		this.quietMs = Math.min(this.quietMs ?? ms, this.quietWindowMin);
		if (++this.quietWindowCount >= 200) {
			this.quietMs = this.quietWindowMin;
			this.quietWindowMin = Infinity;
			this.quietWindowCount = 0;
		}
	}

	/** Waits for a turn; resolves with the requests in flight once this one is let through. */
	private acquire(): Promise<number> | number {
		if (this.inFlight < this.current && !this.waiting.length) return this.letThrough();
		return new Promise<number>((resolve) => this.waiting.push(resolve));
	}

	private letThrough(): number {
		this.usedPeak = Math.max(this.usedPeak, ++this.inFlight);
		return this.inFlight;
	}

	private release(): void {
		this.inFlight--;
		this.wake();
	}

	/**
	 * Frees the place of a refused request at `at` (a round trip after it was sent). A gateway
	 * refuses at once: a refused request that freed its place then let the next one through to be
	 * refused as quickly, and a gate of a dozen places saw about 90 refusals in each throttling
	 * episode (an initial load against a rate limit of 400 a second, B7, with the limiter's answers
	 * logged). A refused request keeps its place for a round trip, as an answered one would have
	 * (the request itself goes on to wait out the Retry-After). A fixed concurrency is only
	 * observed, its places freed at once.
	 */
	private releaseAfter(at: number): void {
		const wait = this.fixed ? 0 : at - this.now();
		if (wait <= 0) this.release();
		else void this.sleep(wait).then(() => this.release());
	}

	private wake(): void {
		while (this.waiting.length && this.inFlight < this.current) {
			this.waiting.shift()!(this.letThrough());
		}
	}
}

/** Answers by which a service says "too many requests": throttling, and 503 when overloaded. */
const THROTTLED = [429, 503];
