import {
	REPLAY_LIMIT,
	SyncSettingsError,
	TRIGGER_STATE_KEY,
	backlogOf,
	checkReplayAllowed,
	columnsAdded,
	finishLoad,
	initialTriggerState,
	isNewReplayRequest,
	noteEmitted,
	readTriggerState,
	reconcileTriggerState,
	refuseReplay,
	startLoad,
	startColumnsReread,
	startReplay,
	writeTriggerState,
	type TriggerState,
} from '../../../lib/sync';

const settings = { table: 'contact', dynamicsKey: 'contactid', mode: 'changeTracking' as const };

describe('Dynamics Trigger state', () => {
	it('starts with an initial load and round-trips through static data as plain JSON', () => {
		const staticData: Record<string, unknown> = {};
		expect(readTriggerState(staticData)).toBeUndefined();
		const state = {
			...initialTriggerState(settings),
			deltaLink: 'https://x/contacts?$deltatoken=1',
			pending: undefined,
		};
		writeTriggerState(staticData, state);
		expect(Object.keys(staticData[TRIGGER_STATE_KEY] as object)).not.toContain('pending');
		const read = readTriggerState(staticData);
		expect(read).toEqual({
			version: 1,
			table: 'contact',
			dynamicsKey: 'contactid',
			mode: 'changeTracking',
			load: 'initial',
			emittedInLoad: 0,
			deltaLink: 'https://x/contacts?$deltatoken=1',
			lockedPair: { table: 'contact', dynamicsKey: 'contactid' },
		});
		read!.load = 'replay';
		expect((staticData[TRIGGER_STATE_KEY] as TriggerState).load).toBe('initial'); // no shared objects
	});

	it('refuses a state from a newer version or a damaged one', () => {
		expect(() => readTriggerState({ [TRIGGER_STATE_KEY]: { version: 2 } })).toThrow(
			/version 2, written by a newer version/,
		);
		expect(() =>
			readTriggerState({ [TRIGGER_STATE_KEY]: { version: 1, table: 'contact' } }),
		).toThrow(SyncSettingsError);
		expect(() => readTriggerState({ [TRIGGER_STATE_KEY]: 'x' })).toThrow(/unreadable/);
	});

	it('locks the table once synced, and restarts with an initial load when the change detection changes', () => {
		const state = finishLoad(initialTriggerState(settings), 'delta-1');
		expect(reconcileTriggerState(state, settings)).toBe(state);
		expect(() =>
			reconcileTriggerState(state, { ...settings, table: 'account', dynamicsKey: 'accountid' }),
		).toThrow(/has synced table "contact"/);
		const switched = reconcileTriggerState(
			{ ...state, replayToken: 'r1' },
			{ ...settings, mode: 'modifiedOn' },
		);
		expect(switched).toMatchObject({ mode: 'modifiedOn', load: 'initial', replayToken: 'r1' });
		expect(switched.deltaLink).toBeUndefined();
	});

	describe('Backlog metric', () => {
		it('counts what the current load has still to emit', () => {
			let s = startLoad(initialTriggerState(settings), 'initial', 1000);
			expect(backlogOf(s)).toBe(1000);
			s = noteEmitted(s, 300);
			expect(backlogOf(s)).toBe(700);
			expect(backlogOf(s, 200)).toBe(500);
			expect(backlogOf(noteEmitted(s, 900))).toBe(0); // rows added during the load never make it negative
			s = finishLoad(s, 'delta-2');
			expect(backlogOf(s)).toBe(0);
			expect(s).toMatchObject({ load: 'incremental', deltaLink: 'delta-2' });
			expect(s.emittedInLoad).toBeUndefined();
		});
	});

	describe('Replay Data', () => {
		it('is refused when the backlog reaches 2,000,000, giving the count', () => {
			expect(checkReplayAllowed({ backlog: 1_999_999, tableCount: 10 })).toEqual({ allowed: true });
			const refused = checkReplayAllowed({ backlog: REPLAY_LIMIT, tableCount: 10 });
			expect(refused).toEqual({
				allowed: false,
				message: expect.stringContaining('the Backlog metric of this workflow is 2,000,000 items'),
			});
		});

		it('is refused when the table has 2,000,000 records or more, giving the count', () => {
			expect(checkReplayAllowed({ tableCount: 1_999_999 }).allowed).toBe(true);
			const refused = checkReplayAllowed({ tableCount: 2_345_678, table: 'contact' });
			expect(refused.allowed === false && refused.message).toMatch(
				/table "contact" has 2,345,678 records/,
			);
		});

		it('honours one request once, and a new value asks again', () => {
			let s = finishLoad(initialTriggerState(settings), 'delta-1');
			expect(isNewReplayRequest(s, '')).toBe(false);
			expect(isNewReplayRequest(s, 'r1')).toBe(true);
			s = startReplay(s, 'r1', 50);
			expect(s).toMatchObject({
				load: 'replay',
				replayToken: 'r1',
				totalInLoad: 50,
				emittedInLoad: 0,
			});
			expect(s.deltaLink).toBeUndefined();
			expect(isNewReplayRequest(s, 'r1')).toBe(false);
			s = refuseReplay(s, 'r2');
			expect(isNewReplayRequest(s, 'r2')).toBe(false);
			expect(isNewReplayRequest(s, 'r3')).toBe(true);
		});
	});
});

describe('Columns the trigger reads', () => {
	it('asks for a re-read only when columns are added to what the cursor reads', () => {
		expect(columnsAdded(['a', 'b'], ['a'], [])).toEqual([]);
		expect(columnsAdded(['a'], ['a', 'c'], [])).toEqual(['c']);
		expect(columnsAdded('all', ['a'], [])).toEqual([]);
		expect(columnsAdded(['a'], 'all', ['a', 'b', 'c'])).toEqual(['b', 'c']);
		expect(columnsAdded(undefined, ['a'], [])).toEqual([]);
	});

	it('re-reads as incremental changes carrying the added columns, keeping the replaced delta link for its deletes', () => {
		const state: TriggerState = {
			...finishLoad(initialTriggerState(settings), 'https://x/contacts?$deltatoken=7'),
			columns: ['a'],
		};
		const next = startColumnsReread(state, ['c'], 10);
		expect(next).toMatchObject({
			load: 'replay',
			addedColumns: ['c'],
			totalInLoad: 10,
			pending: { drainLink: 'https://x/contacts?$deltatoken=7' },
		});
		// A replay under way already pushes every field; an initial load starts over.
		expect(startColumnsReread(startReplay(state, 'r'), ['c']).addedColumns).toBeUndefined();
		expect(startColumnsReread(initialTriggerState(settings), ['c']).load).toBe('initial');
		expect(finishLoad(next).addedColumns).toBeUndefined();
	});
});
