/**
 * One poll of the Dynamics Trigger: from its settings, clients and prior state to the records to
 * emit, the run report and the next state. The node's shell loads and saves the state and turns
 * the result into items; everything the poll decides is here and in the modules beside it:
 * settings.ts, state.ts, replay.ts (Replay Data, whole), read.ts (pages, deletes, columns),
 * key-comparison.ts and chain.ts (deletes detection by comparing keys).
 */
import type { CampaignClient } from '../../campaign/client';
import { DataverseApiError, DeltaTokenExpiredError } from '../../dynamics/errors';
import type { DataverseClient, TableInfo } from '../../dynamics/client';
import type { SyncRecord } from '../../sync/envelope';
import {
	backlogOf,
	reconcileTriggerState,
	startLoad,
	type ChangeDetection,
	type TriggerState,
} from '../../sync/trigger-state';
import type { RunReport } from '../run-report';
import { columnsUsedDownstream, keyComparisonTarget, type ChainNode } from './chain';
import { compareKeys, isComparisonDue } from './key-comparison';
import {
	adoptColumns,
	deleteRecord,
	readChangeTracking,
	readModifiedOn,
	remainingOf,
	selectOf,
	tableCount,
	toRecord,
	wantedColumns,
	type ReadBounds,
	type ReadResult,
} from './read';
import { decideReplay, loadFinished, restartAfterExpiredToken } from './replay';
import { detectionMode, type TriggerSettings } from './settings';
import { otherTriggersBacklog, type BacklogEntry, type WorkflowBacklogs } from './state';

export interface TriggerReadInput {
	settings: TriggerSettings;
	dataverse: DataverseClient;
	/** Built only when keys are compared with Campaign (its credential is needed only then). */
	campaign: () => Promise<CampaignClient>;
	/** The nodes after the trigger. */
	chain: ChainNode[];
	/** The trigger node's name: its entry in the workflow's Backlog, the report's source. */
	node: string;
	/** The poll's time budget, where n8n gives one. */
	budgetMs?: number;
}

export interface TriggerReadPrior {
	state?: TriggerState;
	/** Every trigger's last Backlog in this workflow. */
	backlogs: WorkflowBacklogs;
}

export interface TriggerRead {
	/** The records to emit, each with its `_sync.backlog`. */
	records: SyncRecord[];
	/** The report to emit after them; absent when the run has nothing to say (no execution). */
	report?: RunReport;
	/** The state to store: the cursor past what is emitted. */
	state: TriggerState;
	/** This trigger's Backlog, for the workflow's. */
	backlog: BacklogEntry;
	/** A Replay Data request refused in this run: the message the admin must see. */
	replayRefused?: string;
}

const expiredNotice = (error: Error) =>
	`The change tracking token expired (${error.message}); every record is read again.`;

const columnsNotice = (added: string[]) =>
	`Columns added since the last run (${added.join(', ')}): every record is read again so that the records already in Campaign get them. Fields whose "Apply updates" is off are written only where they come from these columns.`;

async function tableAndMode(
	dataverse: DataverseClient,
	settings: TriggerSettings,
): Promise<{ table: TableInfo; mode: ChangeDetection }> {
	const table = await dataverse.getTable(settings.table);
	return { table, mode: detectionMode(settings, table) };
}

/** "Fetch test event" in the editor: a sample of the table, no state read or written. */
export async function sampleRecords(
	dataverse: DataverseClient,
	settings: TriggerSettings,
	chain: ChainNode[],
): Promise<SyncRecord[]> {
	const { table } = await tableAndMode(dataverse, settings);
	const columns = await wantedColumns(
		dataverse,
		settings.columns,
		columnsUsedDownstream(chain),
		table,
	);
	const page = await dataverse
		.queryPages(settings.table, { select: selectOf(columns), top: 5, pageSize: 5 })
		.next();
	const rows = page.done ? [] : page.value.rows;
	return rows.map((r) => toRecord(r, table, 'initial')).filter((r) => !!r);
}

/**
 * One poll's read. Reads only, so when Dataverse answers that it does not know a name the request
 * used (a column deleted since, which cached metadata may still list), the poll is read once more
 * against fresh metadata, knowing Dataverse refused it (`refused`): the column is then reported by
 * name, and a change-tracking link made with it is dealt with (see `adoptColumns`), instead of
 * Dataverse's raw answer.
 */
export async function triggerRead(
	input: TriggerReadInput,
	prior: TriggerReadPrior,
): Promise<TriggerRead> {
	const first = await readOnce(input, prior, false).then(
		(value) => ({ value }),
		(error: unknown) => ({ error }),
	);
	if ('value' in first) return first.value;
	if (first.error instanceof DataverseApiError && first.error.namesUnknown) {
		return await readOnce(input, prior, true);
	}
	return await Promise.reject(first.error);
}

async function readOnce(
	input: TriggerReadInput,
	prior: TriggerReadPrior,
	refused: boolean,
): Promise<TriggerRead> {
	const { settings, dataverse: client, node } = input;
	const started = Date.now();
	const { table, mode } = await tableAndMode(client, settings);
	let state = reconcileTriggerState(prior.state, {
		table: table.logicalName,
		dynamicsKey: table.primaryIdAttribute,
		mode,
	});

	const replay = await decideReplay(
		client,
		table,
		state,
		settings.replayData,
		otherTriggersBacklog(prior.backlogs, node),
	);
	state = replay.state;
	const wanted = await wantedColumns(
		client,
		settings.columns,
		columnsUsedDownstream(input.chain),
		table,
	);
	const adopted = await adoptColumns(client, table, state, wanted, refused);
	state = adopted.state;
	// A load starting now (not resumed) counts the table, for its Backlog.
	if (
		state.load !== 'incremental' &&
		state.totalInLoad === undefined &&
		!state.pending?.nextLink &&
		!state.pending?.after
	) {
		state = startLoad(state, state.load, await tableCount(client, table.logicalName));
	}

	const bounds: ReadBounds = {
		pageSize: settings.pageSize,
		maxRecordsPerRun: settings.maxRecordsPerRun,
		shouldStop: (emitted) =>
			emitted >= settings.maxRecordsPerRun ||
			(input.budgetMs !== undefined && Date.now() - started > input.budgetMs * 0.8),
	};
	const read = mode === 'changeTracking' ? readChangeTracking : readModifiedOn;
	// An expired change-tracking token is a state to recover from; any other failure stops the poll.
	const first = await read(client, table, state, bounds).catch((error: unknown) => {
		if (error instanceof DeltaTokenExpiredError) return error;
		throw error;
	});
	let result: ReadResult;
	let resyncNotice: string | undefined;
	if (first instanceof DeltaTokenExpiredError) {
		resyncNotice = expiredNotice(first);
		state = await restartAfterExpiredToken(client, table, state);
		result = await read(client, table, state, bounds);
	} else {
		result = first;
	}

	// Modified-date polling sees no deletes: compare keys with Campaign when asked to, after the
	// changes (which come first) and within the same bounds.
	let comparison: RunReport['keyComparison'];
	if (
		mode === 'modifiedOn' &&
		settings.deletesDetection === 'compareKeys' &&
		result.state.load === 'incremental' &&
		!result.more &&
		isComparisonDue(result.state.keyComparison, settings.compareEveryHours)
	) {
		const found = result.records.length;
		const target = keyComparisonTarget(input.chain);
		const compared = await compareKeys(
			await input.campaign(),
			client,
			table,
			target,
			result.state.keyComparison,
			(missing) => bounds.shouldStop(found + missing),
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

	const cutShort = result.state.load === 'incremental' && result.more;
	const remaining = cutShort
		? await remainingOf(client, table, result)
		: { count: backlogOf(result.state), atLeast: false };
	const backlog: BacklogEntry = {
		backlog: remaining.count,
		...(remaining.atLeast ? { atLeast: true } : {}),
		at: new Date().toISOString(),
	};
	const run: TriggerRead = {
		records: result.records,
		state: result.state,
		backlog,
		...(replay.refused ? { replayRefused: replay.refused } : {}),
	};
	const forAdmin = [
		replay.refused,
		resyncNotice,
		adopted.added.length ? columnsNotice(adopted.added) : undefined,
		adopted.deletesUnseen
			? `The change-tracking position of the last run reads ${adopted.deletesUnseen.join(', ')}, which the table no longer has, so Dynamics 365 refuses it: records deleted since that run are not seen by this replay (delete them in Campaign by hand).`
			: undefined,
	].filter((n): n is string => !!n);
	// A run that read nothing needs no execution unless it has something an admin must read.
	if (!result.records.length && !forAdmin.length && state.load === 'incremental') return run;
	const notices = result.notice ? [...forAdmin, result.notice] : forAdmin;

	const total = result.records.length;
	result.records.forEach((record, index) => {
		record._sync.backlog = remaining.count + (total - index - 1);
	});
	run.report = {
		source: node,
		table: table.logicalName,
		mode,
		load: state.load,
		emitted: total,
		deletes: result.records.filter((r) => r._sync.op === 'delete').length,
		backlog: remaining.count,
		// A modified-date count is exact below Dataverse's 5,000; a change-tracking one estimates.
		backlogExact: !cutShort || (mode === 'modifiedOn' && !remaining.atLeast),
		...(remaining.atLeast ? { backlogAtLeast: true } : {}),
		deletesDetection:
			mode === 'changeTracking'
				? 'changeTracking'
				: settings.deletesDetection === 'compareKeys'
					? 'keyComparison'
					: 'none',
		...(comparison ? { keyComparison: comparison } : {}),
		loadFinished: loadFinished(state, result.state),
		...(notices.length ? { notice: notices.join(' ') } : {}),
	};
	return run;
}
