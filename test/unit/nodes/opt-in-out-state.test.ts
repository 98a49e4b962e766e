import {
	pairCode,
	readState,
	rememberedPairs,
	setPairCode,
	writeState,
} from '../../../nodes/OptInOutSync/state';

const A = '0a1b2c3d-0000-4000-8000-00000000000a';
const B = '0a1ffff0-0000-4000-8000-00000000000b';

describe('Opt-In/Out Sync state', () => {
	it('packs the memory by bucket and reads it back after a round trip through static data', () => {
		const staticData: Record<string, unknown> = {};
		const state = readState(staticData as never);
		state.pairKeys = ['donotemail>denyListEmail', 'donotphone>denyListPhone'];
		setPairCode(state, A, '3-');
		setPairCode(state, B.toUpperCase(), 'b0');
		expect(pairCode(state, A)).toBe('3-');
		writeState(staticData as never, state);
		const stored = staticData.optInOut as { memory: Record<string, string> };
		// Both ids start with 0a1: one bucket, fixed-width entries.
		expect(Object.keys(stored.memory)).toEqual(['0a1']);
		expect(stored.memory['0a1']).toHaveLength(2 * 34);

		const again = readState(JSON.parse(JSON.stringify(staticData)));
		expect(pairCode(again, B)).toBe('b0');
		setPairCode(again, A, undefined);
		writeState(staticData as never, again);
		expect(rememberedPairs(readState(staticData as never))).toEqual([[B, 'b0']]);
	});

	it('keeps the memory of version 1, which held one entry per contact id', () => {
		const state = readState({
			optInOut: { version: 1, pairKeys: ['a>b'], memory: { [A]: '3', [B]: '1' }, retry: [] },
		});
		expect(pairCode(state, A)).toBe('3');
		expect(
			rememberedPairs(state)
				.map(([id]) => id)
				.sort(),
		).toEqual([A, B]);
	});

	it('starts afresh from a state it does not know', () => {
		expect(readState({ optInOut: { version: 9, memory: { x: 'y' } } })).toMatchObject({
			memory: {},
			pairKeys: [],
		});
	});
});
