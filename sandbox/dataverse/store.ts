/**
 * The in-memory state of the Dataverse sandbox: tables, rows, alternate-key indexes, the row
 * version counter behind change tracking, the log of deletions, and undo for atomic changesets.
 */
import { randomUUID } from 'node:crypto';
import {
	DEFAULT_SCHEMA,
	normalizeTable,
	tableDefinitionOf,
	type Table,
	type TableDefinition,
} from './schema';

export interface LookupValue {
	id: string;
	table: string;
}

/** Column logical name → value; lookups hold `{ id, table }`, dates ISO strings. */
export type Row = Record<string, unknown>;

export interface DeletedEntry {
	id: string;
	version: number;
}

export interface TableState {
	table: Table;
	/** Insertion-ordered; this is the default row order of queries. */
	rows: Map<string, Row>;
	/** Key logical name → composite key value → row id. */
	keyIndexes: Map<string, Map<string, string>>;
	deletes: DeletedEntry[];
	/** Delta tokens older than this version are expired. */
	minTokenVersion: number;
	/** What RetrieveTotalRecordCount reports instead of the real count, when set. */
	reportedCount: number | null;
}

export class StoreError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
	) {
		super(message);
	}
}

export interface PersistedState {
	version: number;
	tables: Array<{
		definition: TableDefinition;
		rows: Row[];
		deletes: DeletedEntry[];
		minTokenVersion: number;
		reportedCount: number | null;
	}>;
}

/** ISO timestamp with second precision, as Dataverse returns dates. */
export function isoNow(ms = Date.now()): string {
	return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * How date-times are kept and answered. Microsoft's samples answer `modifiedon` in whole seconds
 * (webapi/query/select-columns.md) while SQL Server's `datetime` keeps milliseconds; whether
 * Dataverse filters on the hidden milliseconds is not documented, so each case can be played:
 * - `seconds`: kept and answered in whole seconds (the default);
 * - `milliseconds`: kept and answered with milliseconds;
 * - `hiddenMilliseconds`: kept with milliseconds (filters and ordering see them), answered in
 *   whole seconds.
 */
export type DateTimePrecision = 'seconds' | 'milliseconds' | 'hiddenMilliseconds';

/** A date-time as the Web API answers it under the given precision. */
export function answeredDateTime(value: string, precision: DateTimePrecision): string {
	return precision === 'hiddenMilliseconds' ? value.replace(/\.\d+Z$/, 'Z') : value;
}

/** A new alternate key's index is Pending, then In Progress, then Active after this long. */
export const DEFAULT_KEY_INDEX_DELAY_MS = 1000;

export class Store {
	/** Row version counter shared by all tables (like SQL rowversion), so versions never repeat. */
	version = 1000;
	readonly tables = new Map<string, TableState>();
	private readonly bySet = new Map<string, TableState>();
	private undo: Array<() => void> | null = null;
	/** The user new records belong to when no owner is given (the calling application user). */
	defaultOwnerId: string | null = null;
	dateTimePrecision: DateTimePrecision = 'seconds';
	/** How long a key created through the Web API takes to build its index. */
	keyIndexDelayMs = DEFAULT_KEY_INDEX_DELAY_MS;

	constructor(definitions: TableDefinition[] = DEFAULT_SCHEMA) {
		for (const def of definitions) this.defineTable(def);
	}

	defineTable(def: TableDefinition): TableState {
		const table = normalizeTable(def);
		const existing = this.tables.get(table.logicalName);
		const state: TableState = existing
			? { ...existing, table }
			: {
					table,
					rows: new Map(),
					keyIndexes: new Map(),
					deletes: [],
					minTokenVersion: 0,
					reportedCount: null,
				};
		if (existing) this.bySet.delete(existing.table.entitySetName);
		state.keyIndexes = new Map(
			indexedKeys(table).map((k) => [k.logicalName, new Map<string, string>()]),
		);
		for (const row of state.rows.values()) this.indexRow(state, row);
		this.tables.set(table.logicalName, state);
		this.bySet.set(table.entitySetName, state);
		return state;
	}

	/** Removes a table and its rows. */
	dropTable(logicalName: string): void {
		const state = this.tables.get(logicalName);
		if (!state) return;
		this.tables.delete(logicalName);
		this.bySet.delete(state.table.entitySetName);
	}

	table(logicalName: string): TableState | undefined {
		return this.tables.get(logicalName);
	}

	bySetName(entitySetName: string): TableState | undefined {
		return this.bySet.get(entitySetName);
	}

	nextVersion(): number {
		return ++this.version;
	}

	/** The time a write is stamped with (`createdon`, `modifiedon`). */
	stamp(ms: number): string {
		return this.dateTimePrecision === 'seconds' ? isoNow(ms) : new Date(ms).toISOString();
	}

	/** Runs `fn` atomically: if it throws, every change it made is undone. */
	transaction<T>(fn: () => T): T {
		const outer = this.undo;
		const undo: Array<() => void> = [];
		this.undo = undo;
		try {
			const result = fn();
			if (outer) outer.push(...undo);
			return result;
		} catch (error) {
			for (let i = undo.length - 1; i >= 0; i--) undo[i]();
			throw error;
		} finally {
			this.undo = outer;
		}
	}

	/** Runs `fn` outside any transaction: its writes stay even when the enclosing one rolls back. */
	outside<T>(fn: () => T): T {
		const outer = this.undo;
		this.undo = null;
		try {
			return fn();
		} finally {
			this.undo = outer;
		}
	}

	compositeKey(_state: TableState, attributes: string[], values: Row): string | null {
		const parts: string[] = [];
		for (const attribute of attributes) {
			const value = values[attribute];
			if (value === null || value === undefined || value === '') return null;
			const plain = typeof value === 'object' ? (value as LookupValue).id : value;
			parts.push(typeof plain === 'string' ? plain.toLowerCase() : String(plain));
		}
		return JSON.stringify(parts);
	}

	findByKey(state: TableState, keyName: string, values: Row): Row | undefined {
		const key = indexedKeys(state.table).find((k) => k.logicalName === keyName);
		if (!key) return undefined;
		const composite = this.compositeKey(state, key.attributes, values);
		if (composite === null) return undefined;
		const id = state.keyIndexes.get(keyName)?.get(composite);
		return id ? state.rows.get(id) : undefined;
	}

	private indexRow(state: TableState, row: Row): void {
		const id = row[state.table.primaryIdAttribute] as string;
		for (const key of indexedKeys(state.table)) {
			const composite = this.compositeKey(state, key.attributes, row);
			if (composite === null) continue;
			const index = state.keyIndexes.get(key.logicalName)!;
			const holder = index.get(composite);
			if (holder && holder !== id) {
				const shown = key.attributes.map((a) => `${a}:${JSON.stringify(row[a])}`).join(', ');
				throw new StoreError(
					412,
					'0x80060892',
					`A record that has the attribute values ${shown} already exists. The entity key ${key.logicalName} requires that this set of attributes contains unique values. Select unique values and try again.`,
				);
			}
			index.set(composite, id);
		}
	}

	private unindexRow(state: TableState, row: Row): void {
		for (const key of indexedKeys(state.table)) {
			const composite = this.compositeKey(state, key.attributes, row);
			if (composite === null) continue;
			const index = state.keyIndexes.get(key.logicalName)!;
			if (index.get(composite) === row[state.table.primaryIdAttribute]) index.delete(composite);
		}
	}

	/** Inserts a complete row (system columns are set here). */
	insert(state: TableState, values: Row, now = Date.now()): Row {
		const pk = state.table.primaryIdAttribute;
		const id = String(values[pk] ?? randomUUID()).toLowerCase();
		if (state.rows.has(id)) {
			throw new StoreError(412, '0x80040237', 'Cannot insert duplicate key.');
		}
		const row: Row = {};
		for (const column of state.table.properties)
			row[column.logicalName] = values[column.logicalName] ?? null;
		row[pk] = id;
		if (row.ownerid === null && this.defaultOwnerId && state.table.columnsByName.has('ownerid')) {
			row.ownerid = { id: this.defaultOwnerId, table: 'systemuser' };
		}
		if (row.statecode === null) row.statecode = 0;
		if (row.statuscode === null)
			row.statuscode = defaultStatus(state.table, row.statecode as number);
		const stamp = this.stamp(now);
		row.createdon = typeof values.createdon === 'string' ? values.createdon : stamp;
		row.modifiedon = typeof values.modifiedon === 'string' ? values.modifiedon : stamp;
		row.versionnumber = this.nextVersion();
		computeDerived(state.table, row);
		this.indexRow(state, row);
		state.rows.set(id, row);
		this.undo?.push(() => {
			state.rows.delete(id);
			this.unindexRow(state, row);
		});
		return row;
	}

	/** Applies changes to an existing row; a new row object replaces the old one. */
	update(state: TableState, id: string, changes: Row, now = Date.now()): Row {
		const previous = state.rows.get(id);
		if (!previous) throw notFound(state.table.logicalName, id);
		const row: Row = { ...previous };
		for (const [name, value] of Object.entries(changes)) {
			if (name === state.table.primaryIdAttribute) continue;
			row[name] = value;
		}
		if ('statecode' in changes && !('statuscode' in changes)) {
			row.statuscode = defaultStatus(state.table, row.statecode as number);
		}
		row.modifiedon = this.stamp(now);
		row.versionnumber = this.nextVersion();
		computeDerived(state.table, row);
		this.unindexRow(state, previous);
		try {
			this.indexRow(state, row);
		} catch (error) {
			this.indexRow(state, previous);
			throw error;
		}
		state.rows.set(id, row);
		this.undo?.push(() => {
			this.unindexRow(state, row);
			this.indexRow(state, previous);
			state.rows.set(id, previous);
		});
		return row;
	}

	remove(state: TableState, id: string): void {
		const row = state.rows.get(id);
		if (!row) throw notFound(state.table.logicalName, id);
		this.unindexRow(state, row);
		state.rows.delete(id);
		const entry = { id, version: this.nextVersion() };
		state.deletes.push(entry);
		this.undo?.push(() => {
			state.rows.set(id, row);
			this.indexRow(state, row);
			const at = state.deletes.lastIndexOf(entry);
			if (at >= 0) state.deletes.splice(at, 1);
		});
	}

	/** Every delta token issued so far for this table stops working. */
	expireChangeTracking(state: TableState): void {
		// Tokens issued from now on stay valid: they carry a version above the cut.
		this.version += 1;
		state.minTokenVersion = this.version;
		state.deletes = [];
	}

	toJSON(): PersistedState {
		return {
			version: this.version,
			tables: [...this.tables.values()].map((s) => ({
				definition: tableDefinitionOf(s.table),
				rows: [...s.rows.values()],
				deletes: s.deletes,
				minTokenVersion: s.minTokenVersion,
				reportedCount: s.reportedCount,
			})),
		};
	}

	static fromJSON(state: PersistedState): Store {
		const store = new Store([]);
		store.version = state.version;
		for (const t of state.tables) {
			const s = store.defineTable(t.definition);
			for (const row of t.rows) s.rows.set(row[s.table.primaryIdAttribute] as string, row);
			for (const row of s.rows.values()) store.indexRow(s, row);
			s.deletes = t.deletes;
			s.minTokenVersion = t.minTokenVersion;
			s.reportedCount = t.reportedCount;
		}
		return store;
	}
}

/** The keys whose index exists: all but those whose index job failed. */
function indexedKeys(table: Table): Table['keys'] {
	return table.keys.filter((k) => !k.failed);
}

export function notFound(logicalName: string, id: string): StoreError {
	return new StoreError(
		404,
		'0x80040217',
		`Entity '${logicalName}' With Id = ${id} Does Not Exist`,
	);
}

export function defaultStatus(table: Table, state: number): number | null {
	const stateColumn = table.columnsByName.get('statecode');
	const option = stateColumn?.options?.find((o) => o.value === state);
	if (option?.defaultStatus !== undefined) return option.defaultStatus;
	const statusColumn = table.columnsByName.get('statuscode');
	return statusColumn?.options?.find((o) => o.state === state)?.value ?? null;
}

/** Columns the platform computes from others. */
function computeDerived(table: Table, row: Row): void {
	if (
		table.logicalName === 'contact' ||
		(table.columnsByName.has('firstname') && table.columnsByName.get('fullname')?.readOnly)
	) {
		const full = [row.firstname, row.lastname]
			.filter((p) => typeof p === 'string' && p !== '')
			.join(' ');
		row.fullname = full === '' ? null : full;
	}
}
