import type { CampaignClient, CampaignRecord } from '../../campaign/client';
import { latestVersion } from '../../dynamics/backlog';
import type { DataverseClient, DataverseRow, ModifiedOnCursor } from '../../dynamics/client';
import { DeltaTokenExpiredError } from '../../dynamics/errors';
import { inList } from '../../dynamics/odata';
import { isGuid, parseInstant } from '../../sync/values';
import type { CampaignCatchUp, FullPass, OptInOutState } from './state';

export const CONTACT_TABLE = 'contact';
const CONTACT_ID = 'contactid';
export const PROFILE_RESOURCE = 'profileAndServicesExt/profile';
/** The profile field holding the contact id by default (the contact → profile mapping's key). */
export const DEFAULT_PROFILE_KEY = 'externalId';

/** Contact ids asked about per request (each `contactid eq …` is about 60 characters of URL). */
export const IDS_PER_QUERY = 50;

export interface DynamicsChanges {
	mode: 'changeTracking' | 'modifiedOn';
	contacts: Map<string, DataverseRow>;
	deleted: Set<string>;
	/** The delta link had expired: nothing was read, a full pass must start. */
	expired: boolean;
	/** The read stopped at "Max Records per Run": the checkpoint below resumes it. */
	more: boolean;
	/** Change tracking: the delta link to keep (the read is done) and where to go on (it is not). */
	deltaLink?: string;
	nextLink?: string;
	/** Modified-date polling: where the next read starts. */
	cursor?: ModifiedOnCursor;
	/** Change tracking: the highest row version read (what is left is counted after it). */
	lastVersion?: number;
}

export interface ProfilePage {
	/** Profiles by key value (lower case); profiles without a contact id as key are left out. */
	profiles: Map<string, CampaignRecord>;
	/** Key values held by more than one of the profiles read. */
	duplicates: Set<string>;
	withoutKey: number;
	read: number;
}

/** A profile's key as a contact id (lower case), or undefined when it holds none. */
function profileKeyOf(profile: CampaignRecord, key: string): string | undefined {
	const value = profile[key];
	return typeof value === 'string' && isGuid(value.trim()) ? value.trim().toLowerCase() : undefined;
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

/**
 * Contacts changed since the checkpoint, at most about `limit` (whole pages): change tracking when
 * on, else the modified date. Bounded and resumed as the Dynamics Trigger reads: a delta read
 * stops at a page's `@odata.nextLink` and the next run goes on from it; a modified-date read stops
 * at a cursor (`readModifiedSince`) that neither skips nor repeats rows sharing an instant.
 */
export async function readDynamicsChanges(
	client: DataverseClient,
	state: OptInOutState,
	columns: string[],
	pageSize: number,
	limit: number,
): Promise<DynamicsChanges> {
	const table = await client.getTable(CONTACT_TABLE);
	const select = [...new Set([CONTACT_ID, 'modifiedon', 'versionnumber', ...columns])];
	const contacts = new Map<string, DataverseRow>();
	const deleted = new Set<string>();
	if (!table.changeTrackingEnabled) {
		let cursor = state.dynamicsCursor;
		let more = false;
		for await (const page of client.readModifiedSince(CONTACT_TABLE, {
			select,
			after: state.dynamicsCursor,
			pageSize,
			limit,
			formattedValues: false,
		})) {
			for (const row of page.rows) contacts.set(String(row[CONTACT_ID]).toLowerCase(), row);
			cursor = page.cursor ?? cursor;
			more = !!page.stoppedAtLimit;
		}
		return { mode: 'modifiedOn', contacts, deleted, expired: false, more, cursor };
	}
	const from = state.dynamicsNextLink ?? state.deltaLink;
	let deltaLink = state.deltaLink;
	let nextLink: string | undefined;
	let lastVersion: number | undefined;
	let read = 0;
	const readPages = async () => {
		for await (const page of client.trackChanges(CONTACT_TABLE, {
			select,
			deltaLink: from,
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
			read += page.upserted.length + page.deleted.length;
			lastVersion = latestVersion(lastVersion, page.upserted);
			if (page.deltaLink) deltaLink = page.deltaLink;
			// No delta link given: keep the one read from, so these changes come again next time.
			if (page.deltaLink || page.deltaLinkMissing) return;
			if (page.nextLink && read >= limit) {
				nextLink = page.nextLink;
				return;
			}
		}
	};
	const expired = await readPages().then(
		() => false,
		async (error: unknown) =>
			error instanceof DeltaTokenExpiredError ? true : await Promise.reject(error),
	);
	if (expired) {
		return { mode: 'changeTracking', contacts: new Map(), deleted, expired: true, more: false };
	}
	return {
		mode: 'changeTracking',
		contacts,
		deleted,
		expired: false,
		more: !!nextLink,
		...(deltaLink ? { deltaLink } : {}),
		...(nextLink ? { nextLink } : {}),
		...(lastVersion !== undefined ? { lastVersion } : {}),
	};
}

export interface CampaignChanges extends ProfilePage {
	/** The read stopped at "Max Records per Run": `catchUp` resumes it. */
	more: boolean;
	/** The checkpoint to store once the pairs are handled. */
	since?: string;
	seen?: string[];
	catchUp?: CampaignCatchUp;
}

/**
 * Profiles modified since the checkpoint, newest first (Campaign's `_order=lastModified desc`,
 * sorting.md; pages through `next.href`, pagination.md), at most about `limit` (whole pages).
 *
 * A read that stops at its bound leaves a catch-up: the window [bottom, top] of dates it handled.
 * The next run reads the last page again from its URL and goes on down; if that page no longer
 * starts with a profile the window handled (the list moved under it), it starts again from the
 * newest profile, leaving out what the window handled, so nothing is skipped whatever Campaign's
 * paging does. A profile modified during a catch-up moves above `top`: the catch-up leaves it to
 * the next read, which starts from `top` once this one reaches the checkpoint. Profiles sharing an
 * instant with a bound are told apart by PKey, so none is skipped and none handled twice.
 */
export async function readCampaignChanges(
	client: CampaignClient,
	state: OptInOutState,
	key: string,
	pageSize: number,
	limit: number,
): Promise<CampaignChanges> {
	const sinceMs = parseInstant(state.campaignSince);
	const sinceSeen = new Set(state.campaignSeen ?? []);
	const resumed = state.campaignCatchUp;
	let window: CampaignCatchUp | undefined = resumed && {
		...resumed,
		topSeen: [...resumed.topSeen],
		bottomSeen: [...resumed.bottomSeen],
	};
	const result: CampaignChanges = { ...emptyPage(), more: false };
	/** Whether the catch-up under way handled (or leaves to the next read) this profile. */
	const handled = (modified: number, pkey: string): boolean => {
		if (!window) return false;
		const bottom = parseInstant(window.bottom)!;
		return modified > bottom || (modified === bottom && window.bottomSeen.includes(pkey));
	};
	const read = async (href: string | undefined): Promise<'done' | 'more' | 'moved'> => {
		let pageHref = href;
		let first = !!href;
		for await (const page of client.listPages(PROFILE_RESOURCE, {
			lineCount: pageSize,
			order: { field: 'lastModified', descending: true },
			...(href ? { nextHref: href } : {}),
		})) {
			for (const profile of page.records) {
				const modified = parseInstant(profile.lastModified);
				const pkey = String(profile.PKey ?? '');
				if (first) {
					first = false;
					if (modified === undefined || !handled(modified, pkey)) return 'moved';
				}
				if (modified === undefined) {
					// No date to place it by: handle it each time it is listed.
					addProfile(result, profile, key);
					continue;
				}
				if (handled(modified, pkey)) continue;
				if (sinceMs !== undefined && modified < sinceMs) return 'done';
				if (modified === sinceMs && sinceSeen.has(pkey)) continue;
				addProfile(result, profile, key);
				const at = String(profile.lastModified);
				if (!window) window = { top: at, topSeen: [], bottom: at, bottomSeen: [] };
				if (modified === parseInstant(window.top)) window.topSeen.push(pkey);
				const bottom = parseInstant(window.bottom)!;
				if (modified < bottom) window = { ...window, bottom: at, bottomSeen: [pkey] };
				else if (modified === bottom && !window.bottomSeen.includes(pkey)) {
					window.bottomSeen.push(pkey);
				}
			}
			// A resumed page that comes back empty proves nothing about what came before it.
			if (first) return 'moved';
			if (!page.nextHref) return 'done';
			if (result.read >= limit && window) {
				window = { ...window };
				if (pageHref) window.href = pageHref;
				else delete window.href;
				return 'more';
			}
			pageHref = page.nextHref;
		}
		return 'done';
	};
	let outcome = await read(resumed?.href);
	if (outcome === 'moved') outcome = await read(undefined);
	if (outcome === 'more') {
		return {
			...result,
			more: true,
			since: state.campaignSince,
			seen: state.campaignSeen,
			catchUp: window,
		};
	}
	if (!window) return { ...result, since: state.campaignSince, seen: state.campaignSeen };
	// The read reached the checkpoint: the next one starts from the newest profile it handled.
	const topMs = parseInstant(window.top);
	const seen = topMs === sinceMs ? [...new Set([...sinceSeen, ...window.topSeen])] : window.topSeen;
	return { ...result, since: window.top, seen };
}

/**
 * The newest modification dates now, each by its service's clock: the profile's `lastModified`
 * and (when asked) the contact's `modifiedon`. Absent where the table is empty.
 */
export async function newestChanges(
	dynamics: DataverseClient,
	campaign: CampaignClient,
	withContacts: boolean,
): Promise<{ campaign?: string; dynamics?: string }> {
	const newest: { campaign?: string; dynamics?: string } = {};
	const profiles = await campaign
		.listPages(PROFILE_RESOURCE, {
			lineCount: 1,
			order: { field: 'lastModified', descending: true },
		})
		.next();
	const lastModified = profiles.done ? undefined : profiles.value.records[0]?.lastModified;
	if (typeof lastModified === 'string' && lastModified) newest.campaign = lastModified;
	if (withContacts) {
		const contacts = await dynamics
			.queryPages(CONTACT_TABLE, {
				select: [CONTACT_ID, 'modifiedon'],
				orderBy: [{ column: 'modifiedon', descending: true }],
				top: 1,
				pageSize: 1,
				formattedValues: false,
			})
			.next();
		const modifiedOn = contacts.done ? undefined : contacts.value.rows[0]?.modifiedon;
		if (typeof modifiedOn === 'string' && modifiedOn) newest.dynamics = modifiedOn;
	}
	return newest;
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
		// The delta link keeps this $select: it must name what the later reads need (the version
		// counts what a bounded read leaves).
		select: [...new Set([CONTACT_ID, 'modifiedon', 'versionnumber', ...columns])],
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
