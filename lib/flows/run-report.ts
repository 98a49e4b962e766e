/**
 * The run report: one item per run, after the records, that says what the run did and what is
 * still pending (the spec's Backlog metric). Our nodes pass it on unchanged, and Campaign Upsert
 * folds it into its own summary.
 */
export const RUN_KEY = '_syncRun';

export interface RunReport {
	/** Name of the node that read the records. */
	source: string;
	table: string;
	mode: 'changeTracking' | 'modifiedOn';
	load: 'initial' | 'incremental' | 'replay';
	/** Records (upserts and deletes) emitted by this run. */
	emitted: number;
	deletes: number;
	/** Changes still pending after this run. */
	backlog: number;
	/** False when the backlog is an estimate (an incremental read cut short). */
	backlogExact: boolean;
	/** The backlog is at least this number: Dataverse counts up to 5,000 ("5,000+"). */
	backlogAtLeast?: boolean;
	/** The initial load or replay read its last record in this run. */
	loadFinished: boolean;
	/**
	 * How deletes in Dynamics are seen: change tracking, a comparison of keys with Campaign, or not
	 * at all (modified-date polling alone).
	 */
	deletesDetection?: 'changeTracking' | 'keyComparison' | 'none';
	/** The comparison of keys in this run: Campaign records checked, ids missing in Dynamics. */
	keyComparison?: { checked: number; missing: number; finished: boolean };
	notice?: string;
}

export function isRunItem(json: unknown): json is { [RUN_KEY]: RunReport } {
	return json !== null && typeof json === 'object' && RUN_KEY in json;
}
