/**
 * What the Dynamics Trigger keeps between polls, through the state store: its cursor in the
 * node's static data, and each trigger's last Backlog in the workflow's static data (the spec's
 * Backlog metric, and so the Replay Data guard, is the workflow's, not one trigger's).
 */
import { loadState, saveState, type StateBag, type StateKind } from '../../state/store';
import { SyncSettingsError } from '../../sync/errors';
import { RESET_ADVICE, TRIGGER_STATE_VERSION, type TriggerState } from '../../sync/trigger-state';

/** The trigger's cursor (lib/sync/trigger-state.ts), under `syncState` in the node's static data. */
export const TRIGGER_STATE: StateKind<TriggerState> = {
	key: 'syncState',
	version: TRIGGER_STATE_VERSION,
	what: "The Dynamics Trigger's saved state",
	reset: RESET_ADVICE,
	read(raw) {
		const state = raw as Partial<TriggerState>;
		const valid =
			typeof state.table === 'string' &&
			typeof state.dynamicsKey === 'string' &&
			(state.mode === 'changeTracking' || state.mode === 'modifiedOn') &&
			(state.load === 'initial' || state.load === 'incremental' || state.load === 'replay');
		if (!valid) {
			throw new SyncSettingsError(
				`The Dynamics Trigger's saved state is incomplete. ${RESET_ADVICE}`,
			);
		}
		return JSON.parse(JSON.stringify(raw)) as TriggerState;
	},
};

/**
 * A trigger refreshes its entry on every poll; an entry this old belongs to a trigger that no
 * longer polls (deleted, renamed or disabled) and no longer counts.
 */
export const BACKLOG_ENTRY_TTL_MS = 24 * 60 * 60 * 1000;

export interface BacklogEntry {
	backlog: number;
	/** The number is a lower bound (Dataverse counts up to 5,000). */
	atLeast?: boolean;
	/** When it was measured (ISO). */
	at: string;
}

/** Each trigger's last Backlog, by node name. */
export type WorkflowBacklogs = Record<string, BacklogEntry>;

/**
 * Under `syncBacklogs` in the workflow's static data. Version 1 (stored before versions) was the
 * map itself; version 2 keeps it under `triggers`, so that no node name meets `version`.
 */
export const WORKFLOW_BACKLOGS: StateKind<WorkflowBacklogs> = {
	key: 'syncBacklogs',
	version: 2,
	oldest: 1,
	unversioned: 1,
	what: "The workflow's saved Backlog of its Dynamics Triggers",
	reset:
		'Delete the Dynamics Trigger nodes of this workflow and add them again, or import the workflow as a new one.',
	read(raw, version) {
		const entries = version === 1 ? raw : raw.triggers;
		if (entries === null || typeof entries !== 'object' || Array.isArray(entries)) {
			throw new SyncSettingsError(
				`The workflow's saved Backlog of its Dynamics Triggers is unreadable. ${WORKFLOW_BACKLOGS.reset}`,
			);
		}
		return JSON.parse(JSON.stringify(entries)) as WorkflowBacklogs;
	},
	write: (triggers) => ({ triggers }),
};

/** The Backlog of the workflow's other triggers: entries of other nodes, measured recently. */
export function otherTriggersBacklog(
	backlogs: WorkflowBacklogs,
	node: string,
	now = Date.now(),
): number {
	let total = 0;
	for (const [name, entry] of Object.entries(backlogs)) {
		if (name === node || typeof entry?.backlog !== 'number') continue;
		if (now - new Date(entry.at).getTime() > BACKLOG_ENTRY_TTL_MS) continue;
		total += entry.backlog;
	}
	return total;
}

/**
 * Stores this trigger's Backlog. The other entries are read again at this moment: another trigger
 * of the workflow may have stored its own since this poll began.
 */
export function recordWorkflowBacklog(bag: StateBag, node: string, entry: BacklogEntry): void {
	const backlogs = loadState(bag, WORKFLOW_BACKLOGS) ?? {};
	saveState(bag, WORKFLOW_BACKLOGS, { ...backlogs, [node]: entry });
}
