import type { CampaignClient, CampaignRecord } from '../../lib/campaign/client';
import type { DataverseClient, DataverseRow } from '../../lib/dynamics/client';
import { DeltaTokenExpiredError } from '../../lib/dynamics/errors';
import { ge, inList } from '../../lib/dynamics/odata';
import { parseInstant } from '../../lib/sync/values';
import type { FullPass, OptInOutState } from './state';

export const CONTACT_TABLE = 'contact';
export const CONTACT_ID = 'contactid';
export const PROFILE_RESOURCE = 'profileAndServicesExt/profile';
/** The profile field holding the contact id by default (the contact → profile mapping's key). */
export const DEFAULT_PROFILE_KEY = 'externalId';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Contact ids asked about per request (each `contactid eq …` is about 60 characters of URL). */
const IDS_PER_QUERY = 50;

export interface DynamicsChanges {
	mode: 'changeTracking' | 'modifiedOn';
	contacts: Map<string, DataverseRow>;
	deleted: Set<string>;
	/** The delta link had expired: nothing was read, a full pass must start. */
	expired: boolean;
	/** Checkpoint fields to store once the cycle is done. */
	deltaLink?: string;
	since?: string;
}

export interface ProfilePage {
	/** Profiles by key value (lower case); profiles without a contact id as key are left out. */
	profiles: Map<string, CampaignRecord>;
	/** Key values held by more than one of the profiles read. */
	duplicates: Set<string>;
	withoutKey: number;
	read: number;
}

export interface CampaignChanges extends ProfilePage {
	since?: string;
}

/** A profile's key as a contact id (lower case), or undefined when it holds none. */
export function profileKeyOf(profile: CampaignRecord, key: string): string | undefined {
	const value = profile[key];
	return typeof value === 'string' && GUID.test(value.trim())
		? value.trim().toLowerCase()
		: undefined;
}

function emptyPage(): ProfilePage {
	return { profiles: new Map(), duplicates: new Set(), withoutKey: 0, read: 0 };
}

function addProfile(page: ProfilePage, profile: CampaignRecord, key: string): void {
	page.read += 1;
	const id = profileKeyOf(profile, key);
	if (!id) {
		page.withoutKey += 1;
		return;
	}
	if (page.profiles.has(id)) page.duplicates.add(id);
	else page.profiles.set(id, profile);
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
				contacts.set(String(row[CONTACT_ID]).toLowerCase(), row);
				since = later(since, row.modifiedon);
			}
		}
		return { mode: 'modifiedOn', contacts, deleted, expired: false, since };
	}
	let link = state.deltaLink;
	const read = async () => {
		for await (const page of client.trackChanges(CONTACT_TABLE, {
			select,
			deltaLink: state.deltaLink,
			pageSize,
			formattedValues: false,
		})) {
			for (const row of page.upserted) {
				const id = String(row[CONTACT_ID]).toLowerCase();
				contacts.set(id, row);
				deleted.delete(id);
			}
			for (const raw of page.deleted) {
				const id = raw.toLowerCase();
				contacts.delete(id);
				deleted.add(id);
			}
			if (page.deltaLink) link = page.deltaLink;
			// No delta link given: keep the one read from, so these changes come again next time.
			if (page.deltaLinkMissing) link = state.deltaLink;
		}
		return false;
	};
	const expired = await read().catch(async (error: unknown) =>
		error instanceof DeltaTokenExpiredError ? true : await Promise.reject(error),
	);
	if (expired) return { mode: 'changeTracking', contacts: new Map(), deleted, expired: true };
	return { mode: 'changeTracking', contacts, deleted, expired: false, deltaLink: link };
}

/**
 * Profiles modified since the checkpoint, newest first (Campaign's `_order=lastModified desc`),
 * stopping at the first one older than the checkpoint. Profiles at the checkpoint instant are read
 * again: the memory makes that harmless, and it never misses a profile sharing the instant.
 */
export async function readCampaignChanges(
	client: CampaignClient,
	state: OptInOutState,
	key: string,
	pageSize: number,
): Promise<CampaignChanges> {
	const sinceMs = parseInstant(state.campaignSince);
	const result: CampaignChanges = { ...emptyPage(), since: state.campaignSince };
	pages: for await (const page of client.listPages(PROFILE_RESOURCE, {
		lineCount: pageSize,
		order: { field: 'lastModified', descending: true },
	})) {
		for (const profile of page.records) {
			const modified = parseInstant(profile.lastModified);
			if (sinceMs !== undefined && modified !== undefined && modified < sinceMs) break pages;
			result.since = later(result.since, profile.lastModified);
			addProfile(result, profile, key);
		}
	}
	return result;
}

/** One page of every profile, for a full pass; `nextHref` continues it. */
export async function readProfilePage(
	client: CampaignClient,
	key: string,
	pageSize: number,
	nextHref: string | undefined,
): Promise<ProfilePage & { nextHref?: string }> {
	const result: ProfilePage & { nextHref?: string } = emptyPage();
	const pages = client.listPages(PROFILE_RESOURCE, {
		lineCount: pageSize,
		...(nextHref ? { nextHref } : {}),
	});
	const first = await pages.next();
	if (first.done) return result;
	for (const profile of first.value.records) addProfile(result, profile, key);
	if (first.value.nextHref) result.nextHref = first.value.nextHref;
	return result;
}

/** The contacts with these ids, by lower-case id (ids Dynamics does not have are absent). */
export async function readContacts(
	client: DataverseClient,
	ids: string[],
	columns: string[],
): Promise<Map<string, DataverseRow>> {
	const select = [...new Set([CONTACT_ID, 'modifiedon', ...columns])];
	const found = new Map<string, DataverseRow>();
	for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
		const rows = await client.query(CONTACT_TABLE, {
			select,
			filter: inList(CONTACT_ID, ids.slice(i, i + IDS_PER_QUERY), 'guid'),
			formattedValues: false,
		});
		for (const row of rows) found.set(String(row[CONTACT_ID]).toLowerCase(), row);
	}
	return found;
}

/**
 * Change tracking: a few pages of the read that yields the delta link a full pass starts from,
 * taken before the pass so no change made during it is missed (it comes again, harmlessly). Rows
 * are not kept. Returns the pass with its baseline moved on.
 */
export async function readBaselineStep(
	client: DataverseClient,
	pass: FullPass,
	columns: string[],
	maxPages: number,
): Promise<FullPass> {
	let pages = 0;
	for await (const page of client.trackChanges(CONTACT_TABLE, {
		// The delta link keeps this $select: it must name what the later reads need.
		select: [...new Set([CONTACT_ID, 'modifiedon', ...columns])],
		...(pass.baselineNextLink ? { deltaLink: pass.baselineNextLink } : {}),
		pageSize: 5000,
		formattedValues: false,
	})) {
		pages += 1;
		if (page.deltaLink) {
			const done: FullPass = { ...pass, baselineDeltaLink: page.deltaLink };
			delete done.baselineNextLink;
			return done;
		}
		if (!page.nextLink) break;
		if (pages >= maxPages) return { ...pass, baselineNextLink: page.nextLink };
	}
	// The read ended without a delta link: start it again next time.
	const again: FullPass = { ...pass };
	delete again.baselineNextLink;
	return again;
}

function later(current: string | undefined, candidate: unknown): string | undefined {
	if (typeof candidate !== 'string') return current;
	const a = parseInstant(current);
	const b = parseInstant(candidate);
	if (b === undefined) return current;
	return a === undefined || b > a ? candidate : current;
}
