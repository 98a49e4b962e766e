import {
	emptyState,
	OPT_IN_OUT_STATE,
	pairCode,
	rememberedPairs,
	setPairCode,
	type OptInOutState,
} from '../../../lib/flows/opt-in-out/state';
import { loadState, saveState, type StateBag } from '../../../lib/state/store';
import { SyncSettingsError } from '../../../lib/sync/errors';

/** The state as the node reads it from its static data: a fresh one when none is stored. */
function readState(bag: StateBag): OptInOutState {
	return loadState(bag, OPT_IN_OUT_STATE) ?? emptyState();
}

function writeState(bag: StateBag, state: OptInOutState): void {
	saveState(bag, OPT_IN_OUT_STATE, state);
}

const A = '0a1b2c3d-0000-4000-8000-00000000000a';
const B = '0a1b0000-0000-4000-8000-00000000000b';

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
		// Both ids start with 0a1b: one bucket, fixed-width entries (the id's other 14 bytes in 19
		// characters, then a digit per mapping).
		expect(Object.keys(stored.memory)).toEqual(['0a1b']);
		expect(stored.memory['0a1b']).toHaveLength(2 * (19 + 2));

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
		).toEqual([A, B].sort());
	});

	it('keeps the checkpoints of bounded reads, and reads the instant stored before them as a cursor', () => {
		const catchUp = { top: 't', topSeen: ['@a'], bottom: 'b', bottomSeen: ['@b'], href: 'h' };
		const staticData: Record<string, unknown> = {};
		const state = readState(staticData as never);
		Object.assign(state, {
			deltaLink: 'd',
			dynamicsNextLink: 'n',
			campaignSince: 's',
			campaignSeen: ['@c'],
			campaignCatchUp: catchUp,
		});
		writeState(staticData as never, state);
		expect(readState(JSON.parse(JSON.stringify(staticData)))).toMatchObject({
			deltaLink: 'd',
			dynamicsNextLink: 'n',
			campaignSince: 's',
			campaignSeen: ['@c'],
			campaignCatchUp: catchUp,
		});
		const old = readState({
			optInOut: { version: 2, pairKeys: [], memory: {}, retry: [], dynamicsSince: '2026-01-01' },
		});
		expect(old.dynamicsCursor).toEqual({ modifiedOn: '2026-01-01', id: '' });
	});

	it('keeps the memory of version 2, which held ids in 32 hex digits', () => {
		const hex = (id: string) => id.replace(/-/g, '');
		const state = readState({
			optInOut: {
				version: 2,
				pairKeys: ['a>b', 'c>d'],
				memory: { '0a1b': `${hex(A)}3-${hex(B)}b0` },
				retry: [],
			},
		});
		expect(pairCode(state, A)).toBe('3-');
		expect(pairCode(state, B)).toBe('b0');
		expect(rememberedPairs(state).sort()).toEqual(
			[
				[B, 'b0'],
				[A, '3-'],
			].sort(),
		);
		const staticData: Record<string, unknown> = {};
		writeState(staticData as never, state);
		expect(staticData.optInOut).toMatchObject({ version: 3 });
		expect(pairCode(readState(JSON.parse(JSON.stringify(staticData))), B)).toBe('b0');
	});

	it('refuses a state it does not know instead of starting afresh, which would forget what it remembers', () => {
		const newer = { optInOut: { version: 9, pairKeys: ['a>b'], memory: { x: 'y' }, retry: [] } };
		expect(() => readState(newer)).toThrow(SyncSettingsError);
		expect(() => readState(newer)).toThrow(
			"The Opt-In/Out Sync node's saved state has version 9, written by a newer version of this package. Update the package on this n8n.",
		);
		for (const unreadable of [{ memory: { x: 'y' } }, 'text', [1], { version: 'three' }]) {
			expect(() => readState({ optInOut: unreadable })).toThrow(
				"The Opt-In/Out Sync node's saved state is unreadable. Add a new Opt-In/Out Sync node in its place to start over",
			);
		}
		expect(() => readState({ optInOut: { version: 0, memory: {} } })).toThrow(
			'has version 0, which this version of the package no longer reads',
		);
	});
});
