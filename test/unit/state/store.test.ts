import { loadState, saveState, type StateKind } from '../../../lib/state/store';

interface Counter {
	count: number;
}

const kind: StateKind<Counter> = {
	key: 'counter',
	version: 3,
	oldest: 2,
	what: "The test node's saved state",
	reset: 'Add a new test node to start over.',
	// Version 2 counted in tens.
	read: (raw, version) => ({ count: Number(raw.count) * (version === 2 ? 10 : 1) }),
};

describe('the state store', () => {
	it('gives nothing when nothing is stored', () => {
		expect(loadState({}, kind)).toBeUndefined();
		expect(loadState({ counter: null }, kind)).toBeUndefined();
	});

	it('reads its own version and upgrades an older one it knows', () => {
		expect(loadState({ counter: { version: 3, count: 4 } }, kind)).toEqual({ count: 4 });
		expect(loadState({ counter: { version: 2, count: 4 } }, kind)).toEqual({ count: 40 });
	});

	it('refuses a newer version, naming the node and what to do', () => {
		expect(() => loadState({ counter: { version: 4, count: 1 } }, kind)).toThrow(
			"The test node's saved state has version 4, written by a newer version of this package. Update the package on this n8n.",
		);
	});

	it('refuses a version too old, a value without a version, and a value that is no object', () => {
		expect(() => loadState({ counter: { version: 1, count: 1 } }, kind)).toThrow(
			/version 1, which this version of the package no longer reads\. Add a new test node/,
		);
		expect(() => loadState({ counter: { count: 1 } }, kind)).toThrow(/unreadable\. Add a new/);
		expect(() => loadState({ counter: 'x' }, kind)).toThrow(/unreadable/);
		expect(() => loadState({ counter: [1] }, kind)).toThrow(/unreadable/);
	});

	it('reads a state kept before versions as the version the kind names', () => {
		const legacy: StateKind<Counter> = { ...kind, unversioned: 2 };
		expect(loadState({ counter: { count: 5 } }, legacy)).toEqual({ count: 50 });
	});

	it('stores a plain copy with the current version', () => {
		const bag: Record<string, unknown> = {};
		const state = { count: 7, gone: undefined };
		saveState(bag, kind, state);
		state.count = 8;
		expect(bag.counter).toEqual({ count: 7, version: 3 });
		expect(Object.keys(bag.counter as object)).not.toContain('gone');
	});

	it('stores a copy of nested objects and arrays, as JSON would', () => {
		const bag: Record<string, unknown> = {};
		const nested = { count: 1, seen: ['a', undefined], at: { when: new Date(0), gone: undefined } };
		saveState(bag, kind, nested as unknown as Counter);
		nested.seen.push('b');
		(nested.at as Record<string, unknown>).later = true;
		expect(bag.counter).toEqual({
			count: 1,
			seen: ['a', null],
			at: { when: '1970-01-01T00:00:00.000Z' },
			version: 3,
		});
	});
});
