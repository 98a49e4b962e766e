import type { IDataObject, INodeExecutionData, IPollFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { DataverseClient, DataverseRow, TableInfo } from '../../lib/dynamics/client';
import { latestVersion, remainingChanges } from '../../lib/dynamics/backlog';
import { DeltaTokenExpiredError } from '../../lib/dynamics/errors';
import type { SyncLoad, SyncRecord } from '../../lib/sync/envelope';
import {
	backlogOf,
	checkReplayAllowed,
	finishLoad,
	isNewReplayRequest,
	noteEmitted,
	otherTriggersBacklog,
	readTriggerState,
	reconcileTriggerState,
	recordWorkflowBacklog,
	refuseReplay,
	columnsAdded,
	startColumnsReread,
	startLoad,
	startReplay,
	writeTriggerState,
	type ChangeDetection,
	type ReadColumns,
	type TriggerState,
} from '../../lib/sync/trigger-state';
import { dataverseClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { RUN_KEY, type RunReport } from '../shared/run';
import { columnsUsedDownstream } from './chain-columns';
import { compareKeys, isComparisonDue, keyComparisonTarget } from './key-comparison';

const FORMATTED = '@OData.Community.Display.V1.FormattedValue';
const LOOKUP_TABLE = '@Microsoft.Dynamics.CRM.lookuplogicalname';

interface TriggerParameters {
	table: string;
	columns: string[];
	changeDetection: 'auto' | ChangeDetection;
	replayData: string;
	pageSize: number;
	maxRecordsPerRun: number;
	deletesDetection: 'none' | 'compareKeys';
	compareEveryHours: number;
}

/** A whole-number option within its range, or a settings error naming it. */
function wholeNumber(
	ctx: IPollFunctions,
	name: string,
	raw: unknown,
	fallback: number,
	max = Number.MAX_SAFE_INTEGER,
): number {
	const value = raw === undefined || raw === '' ? fallback : Number(raw);
	if (!Number.isInteger(value) || value < 1 || value > max) {
		const range =
			max === Number.MAX_SAFE_INTEGER ? 'at least 1' : `from 1 to ${max.toLocaleString('en-US')}`;
		throw new NodeOperationError(
			ctx.getNode(),
			`${name} is ${String(raw)}: it must be a whole number ${range}`,
			{
				description: max === 5000 ? 'Dataverse returns at most 5,000 records per page.' : undefined,
			},
		);
	}
	return value;
}

function readParameters(ctx: IPollFunctions): TriggerParameters {
	const options = ctx.getNodeParameter('options', {}) as IDataObject;
	const maxRecordsPerRun = wholeNumber(
		ctx,
		'Options › Max Records per Run',
		options.maxRecordsPerRun,
		5000,
	);
	const pageSize = wholeNumber(ctx, 'Options › Page Size', options.pageSize, 500, 5000);
	const table = String(ctx.getNodeParameter('table', '', { extractValue: true }) ?? '').trim();
	if (!table) {
		throw new NodeOperationError(ctx.getNode(), 'Choose a Dynamics 365 table', {
			description: 'The "Dynamics 365 Table" setting is empty.',
		});
	}
	return {
		table,
		columns: (ctx.getNodeParameter('columns', []) as string[]) ?? [],
		changeDetection: ctx.getNodeParameter(
			'changeDetection',
			'auto',
		) as TriggerParameters['changeDetection'],
		replayData: String(ctx.getNodeParameter('replayData', '') ?? ''),
		deletesDetection:
			ctx.getNodeParameter('deletesDetection', 'none') === 'compareKeys' ? 'compareKeys' : 'none',
		compareEveryHours: wholeNumber(
			ctx,
			'Compare Keys Every (Hours)',
			ctx.getNodeParameter('compareEveryHours', 24),
			24,
		),
		// A page is emitted whole, so a page never exceeds what one run may emit.
		pageSize: Math.min(pageSize, maxRecordsPerRun),
		maxRecordsPerRun,
	};
}

function detectionMode(
	ctx: IPollFunctions,
	p: TriggerParameters,
	table: TableInfo,
): ChangeDetection {
	if (p.changeDetection === 'auto') {
		return table.changeTrackingEnabled ? 'changeTracking' : 'modifiedOn';
	}
	if (p.changeDetection === 'changeTracking' && !table.changeTrackingEnabled) {
		throw new NodeOperationError(
			ctx.getNode(),
			`The Dynamics 365 table "${table.logicalName}" does not have change tracking switched on`,
			{
				description:
					'Switch on "Track changes" for the table in Dynamics 365, or set "Change Detection" to "Modified Date" or "Automatic".',
			},
		);
	}
	return p.changeDetection;
}

/** The columns to read: `'all'` when the Columns setting is empty. */
async function wantedColumns(
	ctx: IPollFunctions,
	client: DataverseClient,
	p: TriggerParameters,
	table: TableInfo,
): Promise<ReadColumns> {
	if (!p.columns.length) return 'all';
	const listed = new Set([table.primaryIdAttribute, 'modifiedon', 'versionnumber', ...p.columns]);
	const downstream = columnsUsedDownstream(ctx).filter((c) => !listed.has(c));
	if (downstream.length) {
		// Only real columns go into $select; the node naming another one reports it. A name the
		// cached columns lack makes them be read again: it may be a column added since.
		const columns = await client.getColumns(table.logicalName, { mustKnow: downstream });
		const known = new Set(columns.map((c) => c.logicalName));
		for (const column of downstream) if (known.has(column)) listed.add(column);
	}
	return [...listed].sort();
}

function selectOf(columns: ReadColumns): string[] | undefined {
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

/** Columns whose addition must re-read the table, and the state that does it. */
async function adoptColumns(
	client: DataverseClient,
	table: TableInfo,
	state: TriggerState,
	wanted: ReadColumns,
): Promise<{ state: TriggerState; added: string[] }> {
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
	if (added.length) {
		const count = await tableCount(client, table.logicalName);
		return { state: { ...startColumnsReread(state, added, count), columns: wanted }, added };
	}
	// What the reads of this run return: a delta link keeps its own `$select`, a fresh read and a
	// modified-date query use the current columns.
	const keepsLink = state.mode === 'changeTracking' && !fresh;
	return { state: { ...state, columns: keepsLink ? read : wanted }, added };
}

/** A Dataverse row as a record envelope: plain columns, display values in `_sync.labels`. */
export function toRecord(
	row: DataverseRow,
	table: TableInfo,
	load: SyncLoad,
	addedColumns?: string[],
): SyncRecord | undefined {
	const record: Record<string, unknown> = {};
	let labels: Record<string, string> | undefined;
	let lookupTables: Record<string, string> | undefined;
	// One pass, built in place: this runs for every row of every page.
	for (const key in row) {
		const value = row[key];
		if (!key.includes('@')) {
			record[key] = value;
		} else if (key.endsWith(FORMATTED)) {
			(labels ??= {})[key.slice(0, -FORMATTED.length)] = String(value);
		} else if (key.endsWith(LOOKUP_TABLE)) {
			(lookupTables ??= {})[key.slice(0, -LOOKUP_TABLE.length).replace(/^_(.+)_value$/, '$1')] =
				String(value);
		}
	}
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

function deleteRecord(id: string, table: TableInfo, load: SyncLoad): SyncRecord {
	return {
		[table.primaryIdAttribute]: id,
		_sync: { table: table.logicalName, id, op: 'delete', load },
	};
}

interface ReadResult {
	records: SyncRecord[];
	state: TriggerState;
	/** True when the read stopped with more to read (max records per run or the time budget). */
	more: boolean;
	notice?: string;
}

/** Whether the poll should stop reading: enough records, or the poll's time budget nearly spent. */
type ShouldStop = (emitted: number) => boolean;

async function readChangeTracking(
	client: DataverseClient,
	table: TableInfo,
	p: TriggerParameters,
	start: TriggerState,
	shouldStop: ShouldStop,
): Promise<ReadResult> {
	let state = start;
	const records: SyncRecord[] = [];
	const load = recordLoad(state);
	// A full re-read never returns deleted rows: read the replaced delta link for them first.
	while (state.pending?.drainLink) {
		let drained = false;
		for await (const page of client.trackChanges(table.logicalName, {
			deltaLink: state.pending.drainLink,
			pageSize: p.pageSize,
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
		pageSize: p.pageSize,
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

async function readModifiedOn(
	client: DataverseClient,
	table: TableInfo,
	p: TriggerParameters,
	start: TriggerState,
	shouldStop: ShouldStop,
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
		pageSize: p.pageSize,
		limit: p.maxRecordsPerRun,
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
async function remainingOf(
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

async function tableCount(client: DataverseClient, table: string): Promise<number | undefined> {
	const counts = await client.retrieveTotalRecordCount([table]);
	return counts[table];
}

/**
 * A failure the admin must see while the poll goes on: n8n records it as a failed execution and
 * runs the workflow's Error Workflow, as for a poll that throws. Where the n8n running the node
 * offers no such hook, the poll fails instead.
 */
function reportFailure(ctx: IPollFunctions, error: NodeOperationError): void {
	if (typeof ctx.__emitError !== 'function') throw error;
	ctx.__emitError(error);
}

/** The run report, as the last item of every run. */
function runItem(report: RunReport): INodeExecutionData {
	return { json: { [RUN_KEY]: report } as unknown as IDataObject };
}

export async function poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
	const p = readParameters(this);
	const client = await dataverseClient(this, { maxPageSize: p.pageSize });
	const started = Date.now();
	try {
		const table = await client.getTable(p.table);
		const mode = detectionMode(this, p, table);

		if (this.getMode() === 'manual') {
			// "Fetch test event": a sample of the table, the cursor untouched.
			const columns = await wantedColumns(this, client, p, table);
			const page = await client
				.queryPages(p.table, { select: selectOf(columns), top: 5, pageSize: 5 })
				.next();
			const rows = page.done ? [] : page.value.rows;
			const records = rows.map((r) => toRecord(r, table, 'initial')).filter((r) => !!r);
			return [records.map((json) => ({ json: json as unknown as IDataObject }))];
		}

		const staticData = this.getWorkflowStaticData('node');
		let state = reconcileTriggerState(readTriggerState(staticData), {
			table: table.logicalName,
			dynamicsKey: table.primaryIdAttribute,
			mode,
		});

		let replayRefusal: string | undefined;
		const workflowData = this.getWorkflowStaticData('global');
		const node = this.getNode().name;
		if (isNewReplayRequest(state, p.replayData)) {
			const count = await tableCount(client, table.logicalName);
			const check = checkReplayAllowed({
				tableCount: count,
				backlog: backlogOf(state) + otherTriggersBacklog(workflowData, node),
				table: table.logicalName,
			});
			if (check.allowed) {
				state = startReplay(state, p.replayData, count);
			} else {
				// Refused once per value; the regular synchronization goes on in this same poll.
				state = refuseReplay(state, p.replayData);
				replayRefusal = check.message;
				reportFailure(
					this,
					new NodeOperationError(this.getNode(), check.message, {
						description:
							'Nothing was re-synchronized. The regular synchronization goes on. Request the replay again (a new Replay Data value) once the numbers allow it.',
					}),
				);
			}
		}
		const adopted = await adoptColumns(
			client,
			table,
			state,
			await wantedColumns(this, client, p, table),
		);
		state = adopted.state;
		const columnsNotice = adopted.added.length
			? `Columns added since the last run (${adopted.added.join(', ')}): every record is read again so that the records already in Campaign get them. Fields whose "Apply updates" is off are written only where they come from these columns.`
			: undefined;
		if (
			state.load !== 'incremental' &&
			state.totalInLoad === undefined &&
			!state.pending?.nextLink &&
			!state.pending?.after
		) {
			state = startLoad(
				state,
				state.load as 'initial' | 'replay',
				await tableCount(client, table.logicalName),
			);
		}

		const budgetMs =
			typeof this.getPollBudgetMs === 'function' ? this.getPollBudgetMs() : undefined;
		const shouldStop: ShouldStop = (emitted) =>
			emitted >= p.maxRecordsPerRun ||
			(budgetMs !== undefined && Date.now() - started > budgetMs * 0.8);
		const read = mode === 'changeTracking' ? readChangeTracking : readModifiedOn;
		let result: ReadResult;
		let resyncReason: string | undefined;
		try {
			result = await read(client, table, p, state, shouldStop);
		} catch (error) {
			if (!(error instanceof DeltaTokenExpiredError)) throw toNodeError(this.getNode(), error);
			// Dataverse no longer knows our position: read everything again, marked as a replay.
			resyncReason = `The change tracking token expired (${error.message}); every record is read again.`;
			// The expired link cannot be read for its deletes either.
			state = startLoad(
				{ ...state, deltaLink: undefined, pending: undefined },
				'replay',
				await tableCount(client, table.logicalName),
			);
			result = await read(client, table, p, state, shouldStop);
		}

		// Modified-date polling sees no deletes: compare keys with Campaign when asked to, after the
		// changes (which come first) and within the same bounds.
		let comparison: RunReport['keyComparison'];
		if (
			mode === 'modifiedOn' &&
			p.deletesDetection === 'compareKeys' &&
			result.state.load === 'incremental' &&
			!result.more &&
			isComparisonDue(result.state.keyComparison, p.compareEveryHours)
		) {
			const compared = await compareKeys(
				this,
				client,
				table,
				keyComparisonTarget(this),
				result.state.keyComparison,
				(found) => shouldStop(result.records.length + found),
			);
			for (const id of compared.missing) {
				const record = deleteRecord(id, table, 'incremental');
				record._sync.reason = 'not in Dynamics 365 any more (found by comparing keys)';
				result.records.push(record);
			}
			result.state = { ...result.state, keyComparison: compared.state };
			comparison = {
				checked: compared.checked,
				missing: compared.missing.length,
				finished: !compared.state.nextHref,
			};
		}

		const loadKind = state.load;
		const cutShort = result.state.load === 'incremental' && result.more;
		const remaining = cutShort
			? await remainingOf(client, table, result)
			: { count: backlogOf(result.state), atLeast: false };
		const backlog = remaining.count;
		// A modified-date count is exact below Dataverse's 5,000; a change-tracking one estimates.
		const backlogExact = !cutShort || (mode === 'modifiedOn' && !remaining.atLeast);
		writeTriggerState(staticData, result.state);
		recordWorkflowBacklog(workflowData, node, {
			backlog,
			...(remaining.atLeast ? { atLeast: true } : {}),
			at: new Date().toISOString(),
		});
		// A run that read nothing needs no execution unless it has something an admin must read.
		const quiet = !result.records.length && !replayRefusal && !resyncReason && !columnsNotice;
		if (quiet && loadKind === 'incremental') return null;
		const notices = [replayRefusal, resyncReason, columnsNotice, result.notice].filter(
			(n): n is string => !!n,
		);

		const total = result.records.length;
		const items: INodeExecutionData[] = result.records.map((record, index) => {
			record._sync.backlog = backlog + (total - index - 1);
			return { json: record as unknown as IDataObject };
		});
		items.push(
			runItem({
				source: this.getNode().name,
				table: table.logicalName,
				mode,
				load: loadKind,
				emitted: total,
				deletes: result.records.filter((r) => r._sync.op === 'delete').length,
				backlog,
				backlogExact,
				...(remaining.atLeast ? { backlogAtLeast: true } : {}),
				deletesDetection:
					mode === 'changeTracking'
						? 'changeTracking'
						: p.deletesDetection === 'compareKeys'
							? 'keyComparison'
							: 'none',
				...(comparison ? { keyComparison: comparison } : {}),
				loadFinished: loadKind !== 'incremental' && result.state.load === 'incremental',
				...(notices.length ? { notice: notices.join(' ') } : {}),
			}),
		);
		return [items];
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}
}
