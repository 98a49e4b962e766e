import { MetadataCache } from '../../../lib/http/cache';

function clock(start = 0) {
	let now = start;
	return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('MetadataCache', () => {
	it('loads once for callers at the same time and serves the value until the TTL ends', async () => {
		const time = clock();
		const cache = new MetadataCache({ ttlMs: 1000, now: time.now });
		const load = jest.fn(async () => ({ columns: ['a'] }));
		const [a, b] = await Promise.all([cache.get('k', load), cache.get('k', load)]);
		expect(a).toBe(b);
		time.advance(999);
		await cache.get('k', load);
		expect(load).toHaveBeenCalledTimes(1);
		time.advance(1);
		await cache.get('k', load);
		expect(load).toHaveBeenCalledTimes(2);
	});

	it('keeps no failed load, so the next call reads again', async () => {
		const cache = new MetadataCache({ ttlMs: 1000 });
		await expect(cache.get('k', async () => Promise.reject(new Error('down')))).rejects.toThrow(
			'down',
		);
		expect(await cache.get('k', async () => 'up')).toBe('up');
	});

	it('reads again once per reason while an entry lives, and anew after the TTL', async () => {
		const time = clock();
		const cache = new MetadataCache({ ttlMs: 1000, now: time.now });
		const load = jest.fn(async () => 'v');
		await cache.get('k', load);
		expect(await cache.reload('k', 'unknown:x', load)).toBe('v');
		expect(cache.reload('k', 'unknown:x', load)).toBeUndefined();
		expect(cache.reload('k', 'unknown:y', load)).toBeDefined();
		// Still known after the second reload: x is not read again for.
		expect(cache.reload('k', 'unknown:x', load)).toBeUndefined();
		time.advance(1000);
		await cache.get('k', load);
		expect(cache.reload('k', 'unknown:x', load)).toBeDefined();
		expect(load).toHaveBeenCalledTimes(5);
	});

	it('tells entries loaded before a mark from those loaded since, and drops what it is told is stale', async () => {
		const cache = new MetadataCache({ ttlMs: 1000 });
		await cache.get('old', async () => 1);
		const mark = cache.mark();
		await cache.get('new', async () => 2);
		expect(cache.loadedBefore('old', mark)).toBe(true);
		expect(cache.loadedBefore('new', mark)).toBe(false);
		cache.invalidate('old');
		expect(cache.loadedBefore('old', mark)).toBe(false);
		const load = jest.fn(async () => 3);
		expect(await cache.get('old', load)).toBe(3);
	});

	it('keeps at most maxEntries, dropping the least recently loaded', async () => {
		const cache = new MetadataCache({ ttlMs: 1000, maxEntries: 2 });
		const load = jest.fn(async () => 'v');
		await cache.get('a', load);
		await cache.get('b', load);
		await cache.get('c', load);
		await cache.get('b', load);
		await cache.get('c', load);
		expect(load).toHaveBeenCalledTimes(3);
		await cache.get('a', load);
		expect(load).toHaveBeenCalledTimes(4);
	});

	it('freezes values, since every caller gets the same object', async () => {
		const cache = new MetadataCache({ ttlMs: 1000 });
		const value = await cache.get('k', async () => ({ columns: [{ name: 'a' }] }));
		expect(() => {
			(value.columns[0] as { name: string }).name = 'b';
		}).toThrow(TypeError);
	});
});
