/** The run summary a node returns beside its per-record results. */

export type RecordOutcome = 'created' | 'updated' | 'deleted' | 'unchanged' | 'skipped' | 'failed';

export interface SyncSummary {
	created: number;
	updated: number;
	deleted: number;
	unchanged: number;
	skipped: number;
	failed: number;
	/** Records still waiting in Dynamics when the run ended (the Backlog metric). */
	backlog: number;
	/** The backlog is at least that number (Dataverse counts up to 5,000): shown as "5,000+". */
	backlogAtLeast?: boolean;
}

export function createSummary(): SyncSummary {
	return { created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, failed: 0, backlog: 0 };
}

export function countOutcome(summary: SyncSummary, outcome: RecordOutcome, by = 1): void {
	summary[outcome] += by;
}

/** The summary as an output item's JSON: counters plus the total processed. */
export function summaryItem(summary: SyncSummary): {
	summary: SyncSummary & { processed: number };
} {
	const processed =
		summary.created +
		summary.updated +
		summary.deleted +
		summary.unchanged +
		summary.skipped +
		summary.failed;
	return { summary: { ...summary, processed } };
}
