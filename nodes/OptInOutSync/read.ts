import type { CampaignClient, CampaignRecord } from '../../lib/campaign/client';
import type { DataverseClient, DataverseRow } from '../../lib/dynamics/client';
import { DeltaTokenExpiredError } from '../../lib/dynamics/errors';
import { ge } from '../../lib/dynamics/odata';
import { parseInstant } from '../../lib/sync/values';
import type { OptInOutState } from './state';

export const CONTACT_TABLE = 'contact';
export const CONTACT_ID = 'contactid';
export const PROFILE_RESOURCE = 'profileAndServicesExt/profile';
/** The profile field holding the contact id; found with the filter named after it. */
export const PROFILE_KEY = 'externalId';

export interface DynamicsChanges {
	mode: 'changeTracking' | 'modifiedOn';
	contacts: Map<string, DataverseRow>;
	deleted: Set<string>;
	/** True when an expired delta token forced a full read. */
	resynced: boolean;
	/** Checkpoint fields to store once the cycle is done. */
	deltaLink?: string;
	since?: string;
}

export interface CampaignChanges {
	/** Changed profiles by externalId (profiles without one cannot be paired). */
	profiles: Map<string, CampaignRecord>;
	/** externalIds held by more than one profile. */
	duplicates: Set<string>;
	withoutExternalId: number;
	read: number;
	since?: string;
}

/** Contacts changed since the checkpoint: change tracking when on, else the modified date. */
export async function readDynamicsChanges(
	client: DataverseClient,
	state: OptInOutState,
	columns: string[],
	pageSize: number,
): Promise<DynamicsChanges> {
	const table = await client.getTable(CONTACT_TABLE);
	const select = [...new Set([CONTACT_ID, 'modifiedon', ...columns])];
	const contacts = new Map<string, DataverseRow>();
	const deleted = new Set<string>();
	if (!table.changeTrackingEnabled) {
		let since = state.dynamicsSince;
		for await (const page of client.queryPages(CONTACT_TABLE, {
			select,
			filter: state.dynamicsSince ? ge('modifiedon', new Date(state.dynamicsSince)) : undefined,
			orderBy: [{ column: 'modifiedon' }],
			pageSize,
			formattedValues: false,
		})) {
			for (const row of page.rows) {
				contacts.set(String(row[CONTACT_ID]), row);
				since = later(since, row.modifiedon);
			}
		}
		return { mode: 'modifiedOn', contacts, deleted, resynced: false, since };
	}
	const read = async (deltaLink: string | undefined) => {
		let link: string | undefined;
		for await (const page of client.trackChanges(CONTACT_TABLE, {
			select,
			deltaLink,
			pageSize,
			formattedValues: false,
		})) {
			for (const row of page.upserted) {
				const id = String(row[CONTACT_ID]);
				contacts.set(id, row);
				deleted.delete(id);
			}
			for (const id of page.deleted) {
				contacts.delete(id);
				deleted.add(id);
			}
			if (page.deltaLink) link = page.deltaLink;
			// No delta link given: keep the one read from, so these changes come again next time.
			if (page.deltaLinkMissing) link = deltaLink;
		}
		return link;
	};
	let expired = false;
	const deltaLink = await read(state.deltaLink).catch(async (error: unknown) => {
		if (!(error instanceof DeltaTokenExpiredError)) return await Promise.reject(error);
		expired = true;
		return undefined;
	});
	if (!expired) return { mode: 'changeTracking', contacts, deleted, resynced: false, deltaLink };
	// The token outlived Dataverse's retention: read everything again; the memory keeps unchanged
	// pairs quiet.
	contacts.clear();
	deleted.clear();
	const fresh = await read(undefined);
	return { mode: 'changeTracking', contacts, deleted, resynced: true, deltaLink: fresh };
}

/**
 * Profiles modified since the checkpoint, newest first (Campaign's `_order=lastModified desc`),
 * stopping at the first one older than the checkpoint. Profiles at the checkpoint instant are read
 * again: the echo memory makes that harmless, and it never misses a profile sharing the instant.
 */
export async function readCampaignChanges(
	client: CampaignClient,
	state: OptInOutState,
	pageSize: number,
): Promise<CampaignChanges> {
	const sinceMs = parseInstant(state.campaignSince);
	const result: CampaignChanges = {
		profiles: new Map(),
		duplicates: new Set(),
		withoutExternalId: 0,
		read: 0,
		since: state.campaignSince,
	};
	pages: for await (const page of client.listPages(PROFILE_RESOURCE, {
		lineCount: pageSize,
		order: { field: 'lastModified', descending: true },
	})) {
		for (const profile of page.records) {
			const modified = parseInstant(profile.lastModified);
			if (sinceMs !== undefined && modified !== undefined && modified < sinceMs) break pages;
			result.read += 1;
			result.since = later(result.since, profile.lastModified);
			const externalId = typeof profile.externalId === 'string' ? profile.externalId : '';
			if (!externalId) {
				result.withoutExternalId += 1;
				continue;
			}
			const key = externalId.toLowerCase();
			if (result.profiles.has(key)) result.duplicates.add(key);
			else result.profiles.set(key, profile);
		}
	}
	return result;
}

function later(current: string | undefined, candidate: unknown): string | undefined {
	if (typeof candidate !== 'string') return current;
	const a = parseInstant(current);
	const b = parseInstant(candidate);
	if (b === undefined) return current;
	return a === undefined || b > a ? candidate : current;
}
