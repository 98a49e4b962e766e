/**
 * Campaign links filled from Dynamics lookups. Apply Field Mapping leaves the looked-up Dynamics id
 * in the link field; here the linked Campaign record is found by the field that holds that id (one
 * lookup per distinct id and run) and the link is written as Adobe documents it,
 * `{"<link>": {"PKey": "<PKey of the linked record>"}}` (CS help/api/using/updating-profile-organizational-unit.md:
 * PATCH `{"orgUnit": {"PKey": …}}`; CS help/api/using/perform-subscriptions.md: POST
 * `{"service": {"PKey": …}}`). A link is read as an object with the linked record's PKey and href and
 * some of its fields, which the pages do not list (CS help/api/using/retrieving-subscriptions.md).
 * Adobe documents no way to empty a link.
 */
import { campaignResourcePath, type CampaignClient, type CampaignRecord } from '../campaign/client';
import { findByKey, resolveKeyAccess, type KeyAccess } from '../campaign/keys';
import type { SyncLink, SyncRecord } from '../sync/envelope';
import { describeValue } from '../sync/errors';

/** The settings that decide how one linked resource's records are found. */
function linkAccessId(link: SyncLink): string {
	return `${link.resource}\u0000${link.key}`;
}

/** Ids as Campaign may store them: a data policy can change case or trim blanks. */
const canonical = (value: unknown) =>
	value === null || value === undefined ? '' : String(value).trim().toLowerCase();

type Lookup = { ok: true; records: CampaignRecord[] } | { ok: false; error: unknown };

/** A record ready to plan: link fields hold `{"PKey": …}`; cleared lookups are left out. */
export interface PreparedRecord {
	record: SyncRecord;
	/** The Dynamics id each written link points to, by Campaign field. */
	linkedIds: Map<string, string>;
	/** Link fields to be written whose lookup is empty in Dynamics: left as they are. */
	cleared: string[];
}

export type Preparation =
	| { ok: true; prepared: PreparedRecord }
	/** `cause`: the lookup's error, which the caller words and appends to `message`. */
	| { ok: false; message: string; errorCode: string; cause?: unknown };

export class LinkResolver {
	private readonly access = new Map<string, KeyAccess>();
	private readonly lookups = new Map<string, Promise<Lookup>>();

	constructor(private readonly client: CampaignClient) {}

	/** Checks, once per linked resource and key, that Campaign can find linked records by the key. */
	async resolveAccess(field: string, link: SyncLink): Promise<void> {
		const id = linkAccessId(link);
		if (this.access.has(id)) return;
		this.access.set(
			id,
			await resolveKeyAccess(this.client, campaignResourcePath(link.resource), link.key, {
				verify: true,
				settings: {
					key: `Linked Record Key of the Campaign field "${field}" in Apply Field Mapping`,
					filter: `filter named after the Linked Record Key of "${field}"`,
				},
			}),
		);
	}

	/** The linked records holding `id`, looked up once per run however many records point to it. */
	private lookup(link: SyncLink, id: string): Promise<Lookup> {
		const cacheKey = `${linkAccessId(link)}\u0000${canonical(id)}`;
		let found = this.lookups.get(cacheKey);
		if (!found) {
			const access = this.access.get(linkAccessId(link))!;
			found = findByKey(this.client, access, id).then(
				(records) => ({ ok: true, records }) as const,
				(error: unknown) => ({ ok: false, error }) as const,
			);
			this.lookups.set(cacheKey, found);
		}
		return found;
	}

	/**
	 * The record with each link `written` is true for as Campaign takes it, the others left out. A
	 * link whose record cannot be found (none, several, an error) fails this record: an empty or
	 * guessed link is never written.
	 */
	async prepare(record: SyncRecord, written: (field: string) => boolean): Promise<Preparation> {
		const links = record._sync.target?.links;
		if (!links || record._sync.op === 'delete') {
			return { ok: true, prepared: { record, linkedIds: new Map(), cleared: [] } };
		}
		const out: SyncRecord = { ...record };
		const linkedIds = new Map<string, string>();
		const cleared: string[] = [];
		for (const [field, link] of Object.entries(links)) {
			if (!(field in record)) continue;
			if (!written(field)) {
				delete out[field];
				continue;
			}
			const value = record[field];
			if (value === null || value === undefined || value === '') {
				delete out[field];
				cleared.push(field);
				continue;
			}
			const id = String(value);
			// A Customer or Owner lookup may point to a table the linked resource does not hold.
			const table = record._sync.lookupTables?.[link.dynamicsField];
			const looked = table ? ` (a ${table} in Dynamics)` : '';
			const what = `the linked ${link.resource} with ${link.key} = ${describeValue(id)}`;
			const prefix = `Record ${record._sync.id} of table "${record._sync.table}", Campaign field "${field}" (from "${link.dynamicsField}")`;
			const found = await this.lookup(link, id);
			if (!found.ok) {
				return {
					ok: false,
					message: `${prefix}: looking up ${what} failed`,
					errorCode: 'LINK_LOOKUP_FAILED',
					cause: found.error,
				};
			}
			if (found.records.length !== 1) {
				const none = found.records.length === 0;
				return {
					ok: false,
					message: none
						? `${prefix}: Campaign has no ${link.resource} with ${link.key} = ${describeValue(id)}${looked} to link to. Sync the looked-up record first; the record was not written.`
						: `${prefix}: Campaign has ${found.records.length} ${link.resource} records with ${link.key} = ${describeValue(id)} (PKeys: ${found.records.map((r) => r.PKey).join(', ')}); the link must point to one. Remove the duplicates in Campaign; the record was not written.`,
					errorCode: none ? 'LINKED_RECORD_NOT_FOUND' : 'LINKED_RECORD_DUPLICATE',
				};
			}
			out[field] = { PKey: found.records[0].PKey };
			linkedIds.set(field, id);
		}
		return { ok: true, prepared: { record: out, linkedIds, cleared } };
	}

	/**
	 * The link fields `current` (the record found in Campaign) already points as wanted. Compared
	 * by the linked record's key, not by PKey: Campaign v8 shows a record's PKey differently in each
	 * answer (experience-cloud.en help/campaign/api/limitations.md), so differing PKeys prove
	 * nothing. Equal PKeys name the same record. Where the link's answer lacks the key, the linked
	 * record is read by its href; a link that cannot be read is written again.
	 */
	async sameLinks(prepared: PreparedRecord, current: CampaignRecord): Promise<Set<string>> {
		const same = new Set<string>();
		const links = prepared.record._sync.target?.links ?? {};
		for (const [field, id] of prepared.linkedIds) {
			const link = links[field];
			const now = current[field];
			if (!now || typeof now !== 'object') continue;
			const shown = now as CampaignRecord;
			const wanted = (prepared.record[field] as { PKey: string }).PKey;
			if (shown.PKey === wanted) {
				same.add(field);
				continue;
			}
			let linked: CampaignRecord | undefined = link.key in shown ? shown : undefined;
			if (!linked && typeof shown.PKey === 'string') {
				const access = this.access.get(linkAccessId(link))!;
				const href =
					typeof shown.href === 'string' && shown.href
						? shown.href
						: this.client.recordHref(access.path, shown.PKey);
				linked = await this.client.get(href).catch(() => undefined);
			}
			if (linked && canonical(linked[link.key]) === canonical(id)) same.add(field);
		}
		return same;
	}
}

/** Whether a record found in Campaign holds a link in `field`. */
export function holdsLink(current: CampaignRecord | undefined, field: string): boolean {
	const value = current?.[field];
	return !!value && typeof value === 'object' && !!(value as CampaignRecord).PKey;
}
