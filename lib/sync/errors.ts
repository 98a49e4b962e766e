/**
 * The domain's two kinds of failure. Nodes turn them into `NodeOperationError`s; keeping them
 * free of n8n here lets the core stay a plain library.
 */

/** A problem with the node's settings: the same for every record, so the run stops. */
export class SyncSettingsError extends Error {
	constructor(
		message: string,
		/** The setting at fault, in the UI's words (e.g. `Filters › Field`). */
		readonly setting?: string,
		/** What to do, at length (every problem found, the fix), shown under the message. */
		readonly description?: string,
	) {
		super(message);
		this.name = 'SyncSettingsError';
	}
}

/** A problem with one record's data: that record fails, the others go on. */
export class SyncDataError extends Error {
	constructor(
		message: string,
		readonly recordId: string | undefined,
		readonly field: string,
		readonly value: unknown,
	) {
		super(message);
		this.name = 'SyncDataError';
	}
}

/** A short, safe rendering of a value for messages (long strings are cut). */
export function describeValue(value: unknown): string {
	if (value === undefined) return 'undefined';
	if (typeof value === 'string') {
		const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
		return JSON.stringify(shown);
	}
	if (value === null || typeof value !== 'object') return String(value);
	const json = JSON.stringify(value);
	return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
