/**
 * The Dynamics Trigger's state (a Singer-style bookmark): a typed, versioned object kept in the
 * node's workflow static data, stored through the state store (lib/flows/trigger/state.ts), and
 * the pure steps that move it. The cursor advances only past what was emitted. Replay Data's
 * decision lives in lib/flows/trigger/replay.ts.
 */
import type { SyncLoad } from './envelope';
import { SyncSettingsError } from './errors';

export const TRIGGER_STATE_VERSION = 1;

export type ChangeDetection = 'changeTracking' | 'modifiedOn';

/**
 * Position in `modifiedon` polling: rows are read in (modifiedon, id) order from `modifiedOn` on,
 * leaving out the rows `seen` at that instant (see the Dataverse client's `readModifiedSince`).
 */
export interface ModifiedOnCursor {
	modifiedOn: string;
	id: string;
	/** `<id>:<version>` of the rows already emitted at `modifiedOn`. */
	seen?: string[];
}

/** Where to resume a load cut short by "max records per run". */
export interface PendingLoad {
	/** Change tracking: the `@odata.nextLink` of the next unread page. */
	nextLink?: string;
	/** modifiedon polling: the last emitted row of this load. */
	after?: ModifiedOnCursor;
	/**
	 * Change tracking: the previous delta link (or its next page), still to be read for its deletes
	 * before a full re-read replaces it, since a full read never returns deleted rows.
	 */
	drainLink?: string;
}

/** The columns a cursor's reads return: a list, or `'all'` when no `$select` is sent. */
export type ReadColumns = string[] | 'all';

/** The table pair the state belongs to: a state is never reused for another table. */
export interface LockedPair {
	table: string;
	dynamicsKey: string;
}

/**
 * Deletes detection by comparing keys (modified-date polling sees no deletes): where the
 * comparison of Campaign's keys with the Dynamics table stands.
 */
export interface KeyComparisonState {
	/** The next Campaign page to compare, while a comparison is under way. */
	nextHref?: string;
	startedAt?: string;
	/** When the last complete comparison ended. */
	finishedAt?: string;
}

export interface TriggerState {
	version: typeof TRIGGER_STATE_VERSION;
	table: string;
	dynamicsKey: string;
	mode: ChangeDetection;
	/** Change tracking: the delta link of the last completed read. */
	deltaLink?: string;
	pending?: PendingLoad;
	/** modifiedon polling: the last emitted row. */
	modifiedOnCursor?: ModifiedOnCursor;
	load: SyncLoad;
	/** The last Replay Data request honoured (or refused), so one request acts once. */
	replayToken?: string;
	emittedInLoad?: number;
	/** The table's record count when an initial load or replay started. */
	totalInLoad?: number;
	lockedPair?: LockedPair;
	/** What the cursor's reads return (a delta link keeps the `$select` it was made with). */
	columns?: ReadColumns;
	/**
	 * Set during a full re-read started because columns were added: its records carry the columns
	 * so that rows already synced get them, and are otherwise treated as incremental changes.
	 */
	addedColumns?: string[];
	keyComparison?: KeyComparisonState;
}

/** What a cursor belongs to: the table pair and the change detection. */
export interface CursorScope {
	table: string;
	dynamicsKey: string;
	mode: ChangeDetection;
}

/** A fresh state: the next poll makes an initial load of every record. */
export function initialTriggerState(settings: CursorScope): TriggerState {
	return {
		version: TRIGGER_STATE_VERSION,
		table: settings.table,
		dynamicsKey: settings.dynamicsKey,
		mode: settings.mode,
		load: 'initial',
		emittedInLoad: 0,
		lockedPair: { table: settings.table, dynamicsKey: settings.dynamicsKey },
	};
}

/** What to do when the trigger's state cannot be used. */
export const RESET_ADVICE =
	'To start over, add a new Dynamics Trigger node (its state is kept per node) and delete this one.';

/**
 * The state to poll with under the current settings. The table pair is locked once synced (as in
 * the spec, where table selections become read-only); changing the change-detection mode restarts
 * with an initial load, since one mode's cursor means nothing to the other.
 */
export function reconcileTriggerState(
	state: TriggerState | undefined,
	settings: CursorScope,
): TriggerState {
	if (!state) return initialTriggerState(settings);
	const locked = state.lockedPair ?? { table: state.table, dynamicsKey: state.dynamicsKey };
	if (locked.table !== settings.table || locked.dynamicsKey !== settings.dynamicsKey) {
		throw new SyncSettingsError(
			`This Dynamics Trigger has synced table "${locked.table}" (key "${locked.dynamicsKey}"); the table cannot be changed to "${settings.table}" (key "${settings.dynamicsKey}") afterwards. ${RESET_ADVICE}`,
			'Table',
		);
	}
	if (state.mode !== settings.mode) {
		return { ...initialTriggerState(settings), replayToken: state.replayToken };
	}
	return state;
}

// ---- Loads and the Backlog metric ----

/**
 * Start an initial load or a replay: every cursor is dropped, counting starts again. A delta link
 * being replaced is kept to be read for its deletes first.
 */
export function startLoad(
	state: TriggerState,
	load: 'initial' | 'replay',
	totalInLoad?: number,
): TriggerState {
	const drainLink =
		state.pending?.drainLink ?? (state.load === 'incremental' ? state.deltaLink : undefined);
	return {
		version: TRIGGER_STATE_VERSION,
		table: state.table,
		dynamicsKey: state.dynamicsKey,
		mode: state.mode,
		load,
		replayToken: state.replayToken,
		lockedPair: state.lockedPair,
		emittedInLoad: 0,
		...(totalInLoad === undefined ? {} : { totalInLoad }),
		...(state.columns ? { columns: state.columns } : {}),
		...(drainLink && state.mode === 'changeTracking' ? { pending: { drainLink } } : {}),
	};
}

// ---- Columns ----

/**
 * Columns wanted now that the cursor's reads do not return (`tableColumns` lists the table's
 * columns, for a switch to reading every column). Empty when the reads already cover them.
 */
export function columnsAdded(
	read: ReadColumns | undefined,
	wanted: ReadColumns,
	tableColumns: readonly string[],
): string[] {
	if (read === undefined || read === 'all') return [];
	const have = new Set(read);
	return (wanted === 'all' ? tableColumns : wanted).filter((c) => !have.has(c));
}

/**
 * Columns were added after rows were synced: read every record again (a fresh delta link is the
 * only way Dataverse returns the new columns), as incremental changes carrying the added columns.
 * A load under way starts over, so none of its records lacks them.
 */
export function startColumnsReread(
	state: TriggerState,
	added: string[],
	totalInLoad?: number,
): TriggerState {
	if (state.load === 'initial') return startLoad(state, 'initial', totalInLoad);
	const previous = state.load === 'replay' && !state.addedColumns;
	const next = startLoad(state, 'replay', totalInLoad);
	// A replay under way pushes every field anyway; a column re-read pushes the added ones.
	if (!previous) next.addedColumns = [...new Set([...(state.addedColumns ?? []), ...added])];
	return next;
}

/** After emitting `count` records of the current load. */
export function noteEmitted(state: TriggerState, count: number): TriggerState {
	return { ...state, emittedInLoad: (state.emittedInLoad ?? 0) + count };
}

/** The load read its last page: what follows is incremental. */
export function finishLoad(state: TriggerState, deltaLink?: string): TriggerState {
	const next: TriggerState = { ...state, load: 'incremental', pending: undefined };
	delete next.emittedInLoad;
	delete next.totalInLoad;
	delete next.addedColumns;
	if (deltaLink !== undefined) next.deltaLink = deltaLink;
	return next;
}

/**
 * Records of the current load not yet emitted. Zero when the size of the load is unknown
 * (incremental reads) or already exceeded (rows added during the load).
 */
export function backlogOf(state: TriggerState): number {
	if (state.totalInLoad === undefined) return 0;
	return Math.max(0, state.totalInLoad - (state.emittedInLoad ?? 0));
}
