import { mapWithConcurrency } from '../../../lib/http';

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
