/**
 * The trigger's reads of Dataverse: the columns to read, change-tracking and modified-date pages
 * as record envelopes, deletes, and what a read cut short leaves (the Backlog metric).
 */
import { latestVersion, remainingChanges } from '../../dynamics/backlog';
import {
	splitAnnotations,
	type DataverseClient,
	type DataverseRow,
	type TableInfo,
} from '../../dynamics/client';
import type { SyncLoad, SyncRecord } from '../../sync/envelope';
import { SyncSettingsError } from '../../sync/errors';
import { checkedAgainstFreshMetadata } from '../metadata';
import {
	columnsAdded,
	finishLoad,
	noteEmitted,
	startColumnsReread,
	type ReadColumns,
	type TriggerState,
} from '../../sync/trigger-state';

/** The table's record count (RetrieveTotalRecordCount), for the Replay Data guards and the Backlog. */
export async function tableCount(
	client: DataverseClient,
	table: string,
): Promise<number | undefined> {
	const counts = await client.retrieveTotalRecordCount([table]);
	return counts[table];
}

/** Columns every read names, whatever the settings: the key and the two dates of a row. */
function alwaysRead(table: TableInfo): string[] {
	return [table.primaryIdAttribute, 'modifiedon', 'versionnumber'];
}

/** Those of `names` that are not columns of the table (by logical name or `_<x>_value`). */
function notColumns(
	names: string[],
	columns: ReadonlyArray<{ logicalName: string; property?: string }>,
) {
	const known = new Set(columns.flatMap((c) => [c.logicalName, c.property ?? c.logicalName]));
	return names.filter((name) => !known.has(name));
}

function quotedList(names: string[]): string {
	return names.map((name) => `"${name}"`).join(', ');
}

/**
 * The columns to read: `'all'` when the Columns setting is empty; otherwise the listed ones, the
 * key and dates, and the real columns that the nodes after the trigger use (`downstream`).
 * A listed column the table lacks stops the poll, named: Dataverse refuses a `$select` naming it.
 * Microsoft advises selecting only the columns needed, as a query without `$select` returns every
 * column and "can reduce performance" (power-apps/developer/data-platform/webapi/query/
 * select-columns.md); the Dynamics 365 → Campaign template lists its mapped columns.
 */
export async function wantedColumns(
	client: DataverseClient,
	columns: string[],
	downstream: string[],
	table: TableInfo,
): Promise<ReadColumns> {
	if (!columns.length) return 'all';
	// A listed column missing from metadata an earlier run read is looked for again in fresh
	// metadata: it may have been added (back) since.
	return checkedAgainstFreshMetadata([client], () =>
		listedColumns(client, columns, downstream, table),
	);
}

async function listedColumns(
	client: DataverseClient,
	columns: string[],
	downstream: string[],
	table: TableInfo,
): Promise<string[]> {
	const listed = new Set([...alwaysRead(table), ...columns]);
	const unlisted = downstream.filter((c) => !listed.has(c));
	// Names the cached columns lack make them be read again: they may be columns added since.
	const tableColumns = await client.getColumns(table.logicalName, {
		mustKnow: [...columns, ...unlisted],
	});
	const missing = notColumns(columns, tableColumns);
	if (missing.length) {
		throw new SyncSettingsError(
			`${quotedList(missing)} ${missing.length === 1 ? 'is not a column' : 'are not columns'} of Dynamics table "${table.logicalName}".`,
			'Columns',
			'Remove it from Columns, and from the nodes after the trigger that use it.',
		);
	}
	// Only real columns go into $select; the node naming another one reports it.
	const unknown = new Set(notColumns(unlisted, tableColumns));
	for (const column of unlisted) if (!unknown.has(column)) listed.add(column);
	return [...listed].sort();
}

export function selectOf(columns: ReadColumns): string[] | undefined {
	return columns === 'all' ? undefined : columns;
}

/** The `$select` a delta link or next link was made with (states saved before columns were kept). */
function columnsOfLink(link: string | undefined): ReadColumns | undefined {
	if (!link) return undefined;
	try {
		const select = new URL(link).searchParams.get('$select');
		if (!select) return 'all';
		return select
			.split(',')
			.map((c) => c.trim().replace(/^_(.+)_value$/, '$1'))
			.filter(Boolean)
			.sort();
	} catch {
		return undefined;
	}
}

/** Those of a link's `$select` columns the table no longer has: Dataverse refuses the link. */
async function goneColumns(
	client: DataverseClient,
	table: TableInfo,
	read: ReadColumns | undefined,
): Promise<string[]> {
	if (!read || read === 'all') return [];
	const always = new Set(alwaysRead(table));
	return notColumns(
		read.filter((c) => !always.has(c)),
		await client.getColumns(table.logicalName),
	);
}

/**
 * Columns whose addition must re-read the table, and the state that does it. After Dataverse
 * refused this poll's read for a name it does not know (`refused`), a change-tracking link made
 * reading a column deleted since is taken for the cause: it cannot be read again (links are
 * opaque: it cannot be made without that column), so the poll stops, naming it, and a replay goes
 * on without reading it for deletes (`deletesUnseen`, for the run's notice). Not before: a link
 * Dataverse still reads is kept, deletes and all.
 */
export async function adoptColumns(
	client: DataverseClient,
	table: TableInfo,
	state: TriggerState,
	wanted: ReadColumns,
	refused = false,
): Promise<{ state: TriggerState; added: string[]; deletesUnseen?: string[] }> {
	const read =
		state.columns ??
		(state.mode === 'changeTracking'
			? columnsOfLink(state.pending?.nextLink ?? state.deltaLink)
			: undefined) ??
		wanted;
	const tableColumns =
		wanted === 'all' && read !== 'all'
			? (await client.getColumns(table.logicalName)).map((c) => c.logicalName)
			: [];
	const added = columnsAdded(read, wanted, tableColumns);
	const fresh = state.load !== 'incremental' && !state.pending?.nextLink && !state.pending?.after;
	// What the reads of this run return: a delta link keeps its own `$select`, a fresh read and a
	// modified-date query use the current columns.
	const keepsLink = state.mode === 'changeTracking' && !fresh;
	const gone = refused && keepsLink ? await goneColumns(client, table, read) : [];
	if (gone.length) {
		throw new SyncSettingsError(
			`This trigger's change-tracking position reads ${quotedList(gone)}, which Dynamics table "${table.logicalName}" no longer has, so Dynamics 365 refuses it.`,
			'Replay Data',
			'Type a new value in Replay Data to read every record again with the columns of today; records deleted in Dynamics 365 since the last run are then not seen (delete them in Campaign by hand).',
		);
	}
	if (added.length) {
		const count = await tableCount(client, table.logicalName);
		return { state: { ...startColumnsReread(state, added, count), columns: wanted }, added };
	}
	const next: TriggerState = { ...state, columns: keepsLink ? read : wanted };
	const drainLink = state.pending?.drainLink;
	const unseen =
		refused && drainLink ? await goneColumns(client, table, columnsOfLink(drainLink)) : [];
	if (unseen.length)
		return { state: { ...next, pending: undefined }, added, deletesUnseen: unseen };
	return { state: next, added };
}

/** A Dataverse row as a record envelope: plain columns, display values in `_sync.labels`. */
export function toRecord(
	row: DataverseRow,
	table: TableInfo,
	load: SyncLoad,
	addedColumns?: string[],
): SyncRecord | undefined {
	const { values: record, labels, lookupTables } = splitAnnotations(row);
	const id = record[table.primaryIdAttribute];
	if (typeof id !== 'string') return undefined;
	const version = record.versionnumber ?? row['@odata.etag'];
	const sync: SyncRecord['_sync'] = { table: table.logicalName, id, op: 'upsert', load };
	if (version !== undefined) sync.version = String(version);
	if (typeof record.modifiedon === 'string') sync.modifiedOn = record.modifiedon;
	if (labels) sync.labels = labels;
	if (lookupTables) sync.lookupTables = lookupTables;
	if (addedColumns) sync.addedColumns = addedColumns;
	record._sync = sync;
	return record as SyncRecord;
}

/** How a load's records are marked: a re-read for added columns is a set of incremental changes. */
function recordLoad(state: TriggerState): SyncLoad {
	return state.addedColumns ? 'incremental' : state.load;
}

export function deleteRecord(id: string, table: TableInfo, load: SyncLoad): SyncRecord {
	return {
		[table.primaryIdAttribute]: id,
		_sync: { table: table.logicalName, id, op: 'delete', load },
	};
}

export interface ReadResult {
	records: SyncRecord[];
	state: TriggerState;
	/** True when the read stopped with more to read (max records per run or the time budget). */
	more: boolean;
	notice?: string;
}

/** Whether the poll should stop reading: enough records, or the poll's time budget nearly spent. */
export type ShouldStop = (emitted: number) => boolean;

export interface ReadBounds {
	pageSize: number;
	maxRecordsPerRun: number;
	shouldStop: ShouldStop;
}

export async function readChangeTracking(
	client: DataverseClient,
	table: TableInfo,
	start: TriggerState,
	{ pageSize, shouldStop }: ReadBounds,
): Promise<ReadResult> {
	let state = start;
	const records: SyncRecord[] = [];
	const load = recordLoad(state);
	// A full re-read never returns deleted rows: read the replaced delta link for them first.
	while (state.pending?.drainLink) {
		let drained = false;
		for await (const page of client.trackChanges(table.logicalName, {
			deltaLink: state.pending.drainLink,
			pageSize,
		})) {
			for (const id of page.deleted) records.push(deleteRecord(id, table, load));
			state = noteEmitted(state, page.deleted.length);
			drained = !!page.deltaLink || !page.nextLink;
			state = { ...state, pending: drained ? undefined : { drainLink: page.nextLink } };
			if (!drained && shouldStop(records.length)) return { records, state, more: true };
		}
		if (!drained) state = { ...state, pending: undefined };
	}
	const link =
		state.pending?.nextLink ?? (state.load === 'incremental' ? state.deltaLink : undefined);
	for await (const page of client.trackChanges(table.logicalName, {
		select: selectOf(state.columns ?? 'all'),
		deltaLink: link,
		pageSize,
	})) {
		for (const row of page.upserted) {
			const record = toRecord(row, table, load, state.addedColumns);
			if (record) records.push(record);
		}
		for (const id of page.deleted) records.push(deleteRecord(id, table, load));
		state = noteEmitted(state, page.upserted.length + page.deleted.length);
		if (page.deltaLink) {
			state = finishLoad(state, page.deltaLink);
			return { records, state, more: false };
		}
		if (page.deltaLinkMissing) {
			// The previous delta link stays: the next poll reads these changes again, losing none.
			const notice =
				'Dataverse gave no delta link at the end of this read, not even when asked again without annotations; these changes will be read again next time.';
			return { records, state: { ...state, pending: undefined }, more: false, notice };
		}
		state = { ...state, pending: { nextLink: page.nextLink } };
		if (shouldStop(records.length)) return { records, state, more: true };
	}
	// A read that ended without a delta link (should not happen): start over from the last delta.
	return { records, state: { ...state, pending: undefined }, more: false };
}

export async function readModifiedOn(
	client: DataverseClient,
	table: TableInfo,
	start: TriggerState,
	{ pageSize, maxRecordsPerRun, shouldStop }: ReadBounds,
): Promise<ReadResult> {
	let state = start;
	const after =
		state.pending?.after ?? (state.load === 'incremental' ? state.modifiedOnCursor : undefined);
	const records: SyncRecord[] = [];
	const load = recordLoad(state);
	let cursor = after;
	for await (const page of client.readModifiedSince(table.logicalName, {
		select: selectOf(state.columns ?? 'all'),
		after,
		pageSize,
		limit: maxRecordsPerRun,
	})) {
		for (const row of page.rows) {
			const record = toRecord(row, table, load, state.addedColumns);
			if (record) records.push(record);
		}
		cursor = page.cursor ?? cursor;
		state = noteEmitted(state, page.rows.length);
		if ((page.nextLink || page.stoppedAtLimit) && shouldStop(records.length)) {
			return {
				records,
				state: { ...state, pending: cursor ? { after: cursor } : undefined },
				more: true,
			};
		}
	}
	const finished = finishLoad(state);
	return { records, state: { ...finished, modifiedOnCursor: cursor }, more: false };
}

/** What an incremental read cut short by its bound leaves for later runs (the Backlog metric). */
export async function remainingOf(
	client: DataverseClient,
	table: TableInfo,
	result: ReadResult,
): Promise<{ count: number; atLeast: boolean }> {
	const after = result.state.pending?.after;
	return await remainingChanges(
		client,
		table.logicalName,
		after ? { after } : { lastVersion: latestVersion(undefined, result.records) },
	);
}
