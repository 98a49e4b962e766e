import {
	REPLAY_LIMIT,
	checkReplayAllowed,
	isNewReplayRequest,
	refuseReplay,
	startReplay,
} from '../../../lib/flows/trigger/replay';
import {
	BACKLOG_ENTRY_TTL_MS,
	TRIGGER_STATE,
	WORKFLOW_BACKLOGS,
	otherTriggersBacklog,
	recordWorkflowBacklog,
} from '../../../lib/flows/trigger/state';
import { loadState, saveState } from '../../../lib/state/store';
import {
	SyncSettingsError,
	backlogOf,
	columnsAdded,
	finishLoad,
	initialTriggerState,
	noteEmitted,
	reconcileTriggerState,
	startLoad,
	startColumnsReread,
	type TriggerState,
} from '../../../lib/sync';

const settings = { table: 'contact', dynamicsKey: 'contactid', mode: 'changeTracking' as const };

describe('Dynamics Trigger state', () => {
	it('starts with an initial load and round-trips through static data as plain JSON', () => {
		const staticData: Record<string, unknown> = {};
		expect(loadState(staticData, TRIGGER_STATE)).toBeUndefined();
		const state = {
			...initialTriggerState(settings),
			deltaLink: 'https://x/contacts?$deltatoken=1',
			pending: undefined,
		};
		saveState(staticData, TRIGGER_STATE, state);
		expect(Object.keys(staticData.syncState as object)).not.toContain('pending');
		const read = loadState(staticData, TRIGGER_STATE);
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
		expect((staticData.syncState as TriggerState).load).toBe('initial'); // no shared objects
	});

	it('refuses a state from a newer version or a damaged one', () => {
		expect(() => loadState({ syncState: { version: 2 } }, TRIGGER_STATE)).toThrow(
			/version 2, written by a newer version/,
		);
		expect(() => loadState({ syncState: { version: 1, table: 'contact' } }, TRIGGER_STATE)).toThrow(
			SyncSettingsError,
		);
		expect(() => loadState({ syncState: 'x' }, TRIGGER_STATE)).toThrow(/unreadable/);
	});

	it('refuses a version older than it reads, as every state of the store does (#18)', () => {
		// Before the store, any version up to the current one was read as it stood.
		const old = { ...initialTriggerState(settings), version: 0 };
		expect(() => loadState({ syncState: old }, TRIGGER_STATE)).toThrow(
			/version 0, which this version of the package no longer reads\. To start over, add a new Dynamics Trigger/,
		);
		expect(() => loadState({ syncState: { ...old, version: undefined } }, TRIGGER_STATE)).toThrow(
			/unreadable/,
		);
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

describe("The workflow's Backlog of its Dynamics Triggers", () => {
	const now = Date.parse('2026-11-26T12:00:00Z');
	const at = (ms: number) => new Date(now - ms).toISOString();

	it("adds up the other triggers' recent entries", () => {
		const backlogs = {
			Contacts: { backlog: 5, at: at(0) },
			Accounts: { backlog: 7, at: at(60_000) },
			Gone: { backlog: 1_000, at: at(BACKLOG_ENTRY_TTL_MS + 1) },
		};
		expect(otherTriggersBacklog(backlogs, 'Contacts', now)).toBe(7);
		expect(otherTriggersBacklog(backlogs, 'Leads', now)).toBe(12);
	});

	it('reads the map stored before versions, and keeps it apart from the version from then on', () => {
		const bag: Record<string, unknown> = {
			syncBacklogs: { Accounts: { backlog: 7, at: at(0) } },
		};
		recordWorkflowBacklog(bag, 'Contacts', { backlog: 3, at: at(0) });
		expect(bag.syncBacklogs).toEqual({
			version: 2,
			triggers: {
				Accounts: { backlog: 7, at: at(0) },
				Contacts: { backlog: 3, at: at(0) },
			},
		});
		// A node may be named "version": it is one more entry.
		recordWorkflowBacklog(bag, 'version', { backlog: 1, at: at(0) });
		expect(otherTriggersBacklog(loadState(bag, WORKFLOW_BACKLOGS)!, 'Contacts', now)).toBe(8);
	});

	it('refuses a Backlog it cannot read rather than counting it as none (#18)', () => {
		expect(() => loadState({ syncBacklogs: 'x' }, WORKFLOW_BACKLOGS)).toThrow(
			/The workflow's saved Backlog of its Dynamics Triggers is unreadable/,
		);
		expect(() =>
			loadState({ syncBacklogs: { version: 2, triggers: [] } }, WORKFLOW_BACKLOGS),
		).toThrow(/unreadable/);
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
