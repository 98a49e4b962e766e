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
