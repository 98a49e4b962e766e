import type { DataverseClient, ModifiedOnCursor } from './client';
import { ge, gt } from './odata';

/** Where a bounded incremental read stopped. */
export interface ReadPosition {
	/** Modified-date polling: the cursor the next read starts from. */
	after?: ModifiedOnCursor;
	/** Change tracking: the highest `versionnumber` read so far (rows come in version order). */
	lastVersion?: number;
}

/**
 * What an incremental read cut short by its bound leaves for later runs, as exact as Dataverse
 * allows (it counts up to 5,000, webapi/query/count-rows.md): under modified-date polling the rows
 * after the cursor; under change tracking the rows with a later version than the last one read
 * (deletes cannot be counted, so this is an estimate). A count that fails, or a read without
 * versions, gives "at least 1": the rows are read all the same, the metric is only vaguer.
 */
export async function remainingChanges(
	client: DataverseClient,
	table: string,
	position: ReadPosition,
): Promise<{ count: number; atLeast: boolean }> {
	try {
		const after = position.after;
		if (after) {
			// The next read starts at the cursor's instant and leaves out the rows it has seen there.
			const counted = await client.countRows(table, ge('modifiedon', after.modifiedOn, 'datetime'));
			const seen = after.seen?.length ?? 0;
			return counted.atLeast
				? counted
				: { count: Math.max(0, counted.count - seen), atLeast: false };
		}
		if (position.lastVersion === undefined) return { count: 1, atLeast: true };
		return await client.countRows(table, gt('versionnumber', position.lastVersion, 'number'));
	} catch {
		return { count: 1, atLeast: true };
	}
}

/** The highest `versionnumber` among rows, or `current` when none is higher. */
export function latestVersion(
	current: number | undefined,
	rows: Iterable<Record<string, unknown>>,
): number | undefined {
	let version = current;
	for (const row of rows) {
		const v = Number(row.versionnumber);
		if (Number.isSafeInteger(v) && (version === undefined || v > version)) version = v;
	}
	return version;
}
