/**
 * The record envelope: a flat record as Dataverse returns it (later: with Campaign field names)
 * plus one reserved key, `_sync`, that tells every node downstream what the record is and what to
 * do with it.
 */
export type SyncOp = 'upsert' | 'delete';
export type SyncLoad = 'incremental' | 'initial' | 'replay';

export interface SyncTarget {
	/** Campaign resource, e.g. `profile` or a custom resource name. */
	resource: string;
	/** Campaign field holding the key (the "CRM ID"). */
	key: string;
	/** The filter that finds records by the key; empty: the one named after the key. */
	keyFilter?: string;
	/** The user declared that Campaign refuses a second record with the same key. */
	keyUnique?: boolean;
	/** Dynamics primary key column the Campaign key is filled from. */
	dynamicsKey: string;
	/** The mapping's "Apply deletes in Microsoft Dynamics 365 to Campaign?". */
	applyDeletes?: boolean;
	/** The Campaign link fields the record's values fill, by Campaign field. */
	links?: Record<string, SyncLink>;
}

/**
 * A Campaign link filled from a Dynamics lookup: the record carries the looked-up Dynamics id, and
 * Campaign Upsert writes `{"PKey": …}` of the linked record that holds that id in `key`.
 */
export interface SyncLink {
	/** The linked Campaign resource (the link's `resTarget`). */
	resource: string;
	/** The field of the linked resource that holds the Dynamics id of the looked-up record. */
	key: string;
	/** The Dynamics column the id is read from, for messages. */
	dynamicsField: string;
}

export interface SyncMeta {
	/** Dynamics table logical name, e.g. `contact`. */
	table: string;
	/** Dynamics primary key value (GUID). */
	id: string;
	op: SyncOp;
	/** Initial loads and replays push every mapped field; incremental loads only `updateFields`. */
	load: SyncLoad;
	version?: string;
	modifiedOn?: string;
	/** Display values of picklists, booleans and lookups, by source column. */
	labels?: Record<string, string>;
	/**
	 * The table each lookup points to, by the lookup's logical name (a customer is an account or a
	 * contact, an owner a systemuser or a team): `@Microsoft.Dynamics.CRM.lookuplogicalname`.
	 */
	lookupTables?: Record<string, string>;
	/** Set by Apply Field Mapping. */
	target?: SyncTarget;
	/** Campaign fields whose "Apply updates" is on. Set by Apply Field Mapping. */
	updateFields?: string[];
	/** Records still to emit in the current load when this one was emitted. */
	backlog?: number;
	/**
	 * Set by the trigger on records re-read because these columns were added to what it reads:
	 * the Campaign fields mapped from them are written even when their "Apply updates" is off.
	 */
	addedColumns?: string[];
	/** Set by Record Filter when a filtered-out record is turned into a delete. */
	filteredOut?: boolean;
	reason?: string;
	/**
	 * Set when a node could not process the record (e.g. a value that cannot convert). The record
	 * travels on so the chain's last node reports it with the others; nothing is written for it.
	 */
	error?: { node: string; message: string; field?: string };
}

export type SyncRecord = Record<string, unknown> & { _sync: SyncMeta };

export const SYNC_KEY = '_sync';

export function isSyncRecord(item: unknown): item is SyncRecord {
	if (item === null || typeof item !== 'object') return false;
	const meta = (item as Record<string, unknown>)[SYNC_KEY] as Partial<SyncMeta> | undefined;
	return (
		meta !== null &&
		typeof meta === 'object' &&
		typeof meta.table === 'string' &&
		typeof meta.id === 'string' &&
		(meta.op === 'upsert' || meta.op === 'delete')
	);
}

/** A copy of a record with its `_sync` copied too, so a node never mutates its input items. */
export function cloneRecord(record: SyncRecord): SyncRecord {
	const meta = record._sync;
	return {
		...record,
		_sync: {
			...meta,
			...(meta.labels ? { labels: { ...meta.labels } } : {}),
			...(meta.lookupTables ? { lookupTables: { ...meta.lookupTables } } : {}),
		},
	};
}
