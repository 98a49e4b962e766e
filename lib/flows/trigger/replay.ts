/**
 * Replay Data, the spec's "re-synchronize every record" (Adobe's "Synchronize data" page), in one
 * place:
 *
 * 1. Requested: the node's Replay Data value differs from the last one honoured or refused
 *    (`replayToken` in the trigger's state). Each value acts once.
 * 2. Allowed or refused: the spec's two guards, 2,000,000 records in the table or 2,000,000 in the
 *    workflow's Backlog (this trigger's load plus the other triggers' last Backlog). A refusal is
 *    remembered, reported once as a failed execution, and the regular synchronization goes on in
 *    the same poll.
 * 3. Started: a full load marked `replay` (every mapped field is written), counting from the
 *    table's record count for the Backlog; a change-tracking delta link being replaced is read for
 *    its deletes first (`startLoad`).
 * 4. Finished: the read that reaches the table's end turns the load incremental (`finishLoad`),
 *    and that run's report says `loadFinished`.
 *
 * Two other full re-reads are also marked `replay` (every field written), without the guards since
 * nothing is sent that Dynamics has not: an expired change-tracking token (below) and columns
 * added to the Columns setting (`startColumnsReread`).
 */
import type { DataverseClient, TableInfo } from '../../dynamics/client';
import { backlogOf, startLoad, type TriggerState } from '../../sync/trigger-state';
import { tableCount } from './read';

/** The spec's limit for Replay Data, on both the backlog and the table's record count. */
export const REPLAY_LIMIT = 2_000_000;

export type ReplayCheck = { allowed: true } | { allowed: false; message: string };

const formatCount = (n: number) => n.toLocaleString('en-US');

/** The spec's two guards: refused when the backlog or the table has 2,000,000 or more. */
export function checkReplayAllowed(input: {
	tableCount?: number;
	backlog?: number;
	table?: string;
}): ReplayCheck {
	const limit = formatCount(REPLAY_LIMIT);
	if ((input.backlog ?? 0) >= REPLAY_LIMIT) {
		return {
			allowed: false,
			message: `Replay Data refused: the Backlog metric of this workflow is ${formatCount(input.backlog ?? 0)} items (the limit is below ${limit}). Let the workflow work through the backlog, then request the replay again.`,
		};
	}
	if ((input.tableCount ?? 0) >= REPLAY_LIMIT) {
		const table = input.table ? `"${input.table}" ` : '';
		return {
			allowed: false,
			message: `Replay Data refused: the Microsoft Dynamics 365 table ${table}has ${formatCount(input.tableCount ?? 0)} records (the limit is below ${limit}).`,
		};
	}
	return { allowed: true };
}

/** Is `request` (the node's Replay Data value) a new request, not yet honoured or refused? */
export function isNewReplayRequest(state: TriggerState, request: string | undefined): boolean {
	const token = request?.trim();
	return !!token && token !== state.replayToken;
}

/** Honour a replay request: a full load from the start, remembered so it runs once. */
export function startReplay(
	state: TriggerState,
	request: string,
	totalInLoad?: number,
): TriggerState {
	return { ...startLoad(state, 'replay', totalInLoad), replayToken: request.trim() };
}

/** Remember a refused request so the refusal is reported once; a new value asks again. */
export function refuseReplay(state: TriggerState, request: string): TriggerState {
	return { ...state, replayToken: request.trim() };
}

/** What a poll does about Replay Data: the state to read with, and the refusal to report. */
export interface ReplayDecision {
	state: TriggerState;
	/** Set when a new request was refused: the message for the admin. */
	refused?: string;
}

export const REPLAY_REFUSED_ADVICE =
	'Nothing was re-synchronized. The regular synchronization goes on. Request the replay again (a new Replay Data value) once the numbers allow it.';

/** Steps 1 to 3: a new request is checked against the guards, then started or refused. */
export async function decideReplay(
	client: DataverseClient,
	table: TableInfo,
	state: TriggerState,
	request: string,
	otherTriggersBacklog: number,
): Promise<ReplayDecision> {
	if (!isNewReplayRequest(state, request)) return { state };
	const count = await tableCount(client, table.logicalName);
	const check = checkReplayAllowed({
		tableCount: count,
		backlog: backlogOf(state) + otherTriggersBacklog,
		table: table.logicalName,
	});
	if (check.allowed) return { state: startReplay(state, request, count) };
	return { state: refuseReplay(state, request), refused: check.message };
}

/** Step 4: the run that read the last record of an initial load or a replay. */
export function loadFinished(before: TriggerState, after: TriggerState): boolean {
	return before.load !== 'incremental' && after.load === 'incremental';
}

/**
 * Dataverse no longer knows the change-tracking position: read everything again, marked as a
 * replay. The expired link cannot be read for its deletes either.
 */
export async function restartAfterExpiredToken(
	client: DataverseClient,
	table: TableInfo,
	state: TriggerState,
): Promise<TriggerState> {
	return startLoad(
		{ ...state, deltaLink: undefined, pending: undefined },
		'replay',
		await tableCount(client, table.logicalName),
	);
}
