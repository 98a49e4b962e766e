import { createLimiter, mapWithConcurrency } from '../../../lib/http';

/** A promise the test resolves by hand, to hold tasks in flight. */
function gate() {
	let open!: () => void;
	const opened = new Promise<void>((resolve) => (open = resolve));
	return { opened, open };
}

const tick = async () => await new Promise((resolve) => setImmediate(resolve));

describe('createLimiter', () => {
	it('never runs more than max tasks at once and starts waiting tasks in arrival order', async () => {
		const limiter = createLimiter(2);
		const gates = [gate(), gate(), gate(), gate()];
		const started: number[] = [];
		const runs = gates.map((g, i) =>
			limiter.run(async () => {
				started.push(i);
				await g.opened;
				return i * 10;
			}),
		);
		await tick();
		expect(started).toEqual([0, 1]);
		expect(limiter.active).toBe(2);
		expect(limiter.pending).toBe(2);

		gates[1].open();
		await tick();
		expect(started).toEqual([0, 1, 2]);
		expect(limiter.active).toBe(2);

		gates[0].open();
		gates[2].open();
		gates[3].open();
		expect(await Promise.all(runs)).toEqual([0, 10, 20, 30]);
		expect(limiter.active).toBe(0);
		expect(limiter.pending).toBe(0);
	});

	it('frees the slot of a task that fails', async () => {
		const limiter = createLimiter(1);
		await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow(
			'boom',
		);
		expect(await limiter.run(async () => 'next')).toBe('next');
		expect(limiter.active).toBe(0);
	});

	it.each([0, -1, 1.5, Number.NaN])('refuses a concurrency of %p', (max) => {
		expect(() => createLimiter(max)).toThrow(/at least 1/);
	});
});

describe('mapWithConcurrency', () => {
	it('keeps input order even when later items finish first', async () => {
		const delays = [30, 5, 20, 1, 10];
		const result = await mapWithConcurrency(delays, 3, async (ms, i) => {
			await new Promise((resolve) => setTimeout(resolve, ms));
			return `${i}:${ms}`;
		});
		expect(result).toEqual(['0:30', '1:5', '2:20', '3:1', '4:10']);
	});

	it('has at most max calls in flight, and uses all max slots', async () => {
		let inFlight = 0;
		let peak = 0;
		await mapWithConcurrency(
			Array.from({ length: 20 }, (_, i) => i),
			4,
			async (i) => {
				inFlight++;
				peak = Math.max(peak, inFlight);
				await new Promise((resolve) => setTimeout(resolve, (i % 3) + 1));
				inFlight--;
			},
		);
		expect(peak).toBe(4);
	});

	it('starts nothing new after a failure and throws the first error once in-flight calls end', async () => {
		const started: number[] = [];
		let finishedAfterFailure = 0;
		const failing = mapWithConcurrency([0, 1, 2, 3, 4, 5], 2, async (i) => {
			started.push(i);
			if (i === 1) throw new Error('item 1 failed');
			await new Promise((resolve) => setTimeout(resolve, 5));
			finishedAfterFailure++;
			return i;
		});
		await expect(failing).rejects.toThrow('item 1 failed');
		expect(started).toEqual([0, 1]);
		expect(finishedAfterFailure).toBe(1);
	});

	it('returns an empty list for no items without calling fn', async () => {
		const fn = jest.fn(async () => 1);
		expect(await mapWithConcurrency([], 5, fn)).toEqual([]);
		expect(fn).not.toHaveBeenCalled();
	});
});
