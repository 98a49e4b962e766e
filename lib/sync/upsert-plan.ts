/**
 * Campaign Upsert's decision for one mapped record, given what a lookup by key found in Campaign.
 * Pure: the node does the lookup and the write, this says which write (if any) and why.
 */
import type { SyncRecord } from './envelope';
import { describeValue } from './errors';
import { sameValue } from './values';

/** A Campaign record as found by key: its PKey, its href when given, and its field values. */
export interface CampaignMatch {
	PKey: string;
	href?: string;
	[field: string]: unknown;
}

/**
 * Writes to an existing record carry the PKey and href of the lookup that found it: Campaign v8
 * changes PKeys between calls, so only those of the latest answer address the record.
 */
export type UpsertAction =
	| { action: 'create'; fields: Record<string, unknown> }
	| { action: 'update'; pKey: string; href?: string; fields: Record<string, unknown> }
	| { action: 'unchanged'; pKey: string; reason: string }
	| { action: 'delete'; pKey: string; href?: string; reason: string }
	| { action: 'skip'; reason: string }
	| { action: 'fail'; message: string };

export interface UpsertOptions {
	/** Overrides `_sync.target.applyDeletes` (e.g. a node-level setting). */
	applyDeletes?: boolean;
	/**
	 * Link fields (`_sync.target.links`) the found record already points as wanted, compared by
	 * the linked record's key by the caller: a link's PKey may differ between answers for the
	 * same record. Any other link field is written.
	 */
	sameLinks?: ReadonlySet<string>;
}

function mappedFields(record: SyncRecord): string[] {
	return Object.keys(record).filter((k) => k !== '_sync');
}

export function planUpsert(
	record: SyncRecord,
	matches: readonly CampaignMatch[],
	options: UpsertOptions = {},
): UpsertAction {
	const meta = record._sync;
	const target = meta.target;
	if (!target) {
		return {
			action: 'fail',
			message: `Record ${meta.id} of table "${meta.table}" has no Campaign target: put Apply Field Mapping before Campaign Upsert.`,
		};
	}
	const keyValue = record[target.key];
	if (matches.length > 1) {
		return {
			action: 'fail',
			message: `Campaign has ${matches.length} ${target.resource} records with ${target.key} = ${describeValue(keyValue)} (PKeys: ${matches.map((m) => m.PKey).join(', ')}). The key must be unique: remove the duplicates in Campaign. Record ${meta.id} was not written.`,
		};
	}
	const found = matches[0];

	if (meta.op === 'delete') {
		const applyDeletes = options.applyDeletes ?? target.applyDeletes ?? false;
		// The filter only marks filteredOut when "delete filtered-out records" is on.
		const why = meta.filteredOut
			? (meta.reason ?? 'filtered out')
			: applyDeletes
				? 'deleted in Dynamics'
				: undefined;
		if (why === undefined) {
			return { action: 'skip', reason: 'deleted in Dynamics; "Apply deletes" is off' };
		}
		if (!found) {
			return {
				action: 'skip',
				reason: `${why}; no ${target.resource} with ${target.key} = ${describeValue(keyValue)} in Campaign`,
			};
		}
		return { action: 'delete', pKey: found.PKey, ...hrefOf(found), reason: why };
	}

	const all = mappedFields(record);
	if (!found) {
		const fields: Record<string, unknown> = {};
		for (const f of all) fields[f] = record[f];
		return { action: 'create', fields };
	}

	// Incremental loads carry only the fields whose "Apply updates" is on; initial and replay all.
	const candidates =
		meta.load === 'incremental' ? (meta.updateFields ?? []).filter((f) => f in record) : all;
	const fields: Record<string, unknown> = {};
	let changed = 0;
	for (const f of candidates) {
		if (f === target.key) continue;
		const same = target.links?.[f]
			? (options.sameLinks?.has(f) ?? false)
			: sameValue(record[f], found[f]);
		if (same) continue;
		fields[f] = record[f];
		changed++;
	}
	if (changed === 0) {
		return {
			action: 'unchanged',
			pKey: found.PKey,
			reason:
				candidates.length === 0
					? 'no field has "Apply updates" on'
					: 'Campaign already holds these values',
		};
	}
	return { action: 'update', pKey: found.PKey, ...hrefOf(found), fields };
}

function hrefOf(found: CampaignMatch): { href?: string } {
	return typeof found.href === 'string' && found.href ? { href: found.href } : {};
}
