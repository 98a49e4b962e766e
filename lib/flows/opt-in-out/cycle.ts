/**
 * One cycle of Opt-In/Out Sync: the pairs to look at (a page of a full pass, or the changes on
 * both sides since the last cycle), one decision per mapped flag (lib/sync/optout.ts), the writes,
 * and what to keep for the next cycle. Takes the settings, the clients and the prior state;
 * returns one record per pair handled, the next state and the summary.
 */
import type { CampaignClient, CampaignRecord } from '../../campaign/client';
import { findByKey, resolveKeyAccess, type KeyAccess } from '../../campaign/keys';
import { resolveOptOutFields, type OptOutWireField } from '../../campaign/optout-fields';
import { remainingChanges } from '../../dynamics/backlog';
import type { DataverseClient, DataverseRow } from '../../dynamics/client';
import { mapWithConcurrency } from '../../http/limiter';
import { SyncDataError, SyncSettingsError } from '../../sync/errors';
import {
	optOutPairKey,
	resolveOptOut,
	validateOptOutMappings,
	type OptOutDecision,
	type OptOutDirection,
	type OptOutMapping,
} from '../../sync/optout';
import { checkedAgainstFreshMetadata } from '../metadata';
import { wholeNumberSetting } from '../settings';
import { failureMessage } from '../failure';
import {
	CONTACT_TABLE,
	DEFAULT_PROFILE_KEY,
	IDS_PER_QUERY,
	newestChanges,
	PROFILE_RESOURCE,
	readBaselineStep,
	readCampaignChanges,
	readContacts,
	readDynamicsChanges,
	readProfilePage,
	type CampaignChanges,
	type DynamicsChanges,
	type ProfilePage,
} from './reads';
import {
	decodeMemory,
	emptyState,
	encodeMemory,
	pairCode,
	rememberPair,
	rememberedPairs,
	setPairCode,
	type OptInOutState,
} from './state';

/** The summary item of one cycle (the last item of the output). */
export interface OptInOutSummary {
	direction: OptOutDirection;
	contactsRead: number;
	contactsDeleted: number;
	profilesRead: number;
	pairsChecked: number;
	writtenToDynamics: number;
	writtenToCampaign: number;
	conflicts: { total: number; dynamicsWon: number; campaignWon: number; optedOutWon: number };
	/** Pairs whose values were already equal (including values this node wrote earlier). */
	unchanged: number;
	profilesWithoutContact: number;
	contactsWithoutProfile: number;
	/** Profiles whose Campaign key holds no contact id. */
	profilesWithoutExternalId: number;
	errors: number;
	changeDetection?: 'changeTracking' | 'modifiedOn';
	/** A full pass over every profile (the first cycle): how far it got. */
	fullPass?: { profilesRead: number; finished: boolean };
	/** A run reading changes: how far it got, and what it leaves for the next runs. */
	incremental?: IncrementalProgress;
	notice?: string;
}

/**
 * The reads of changes of one run, each bounded by "Max Records per Run". `backlog` is the
 * number of contact changes still to read in Dynamics 365, as exact as Dataverse counts (up to
 * 5,000: `backlogAtLeast`; under change tracking an estimate, deletes uncounted). Campaign cannot
 * count the profiles modified in a range of dates: `profilesPending` says some are still to read.
 */
export interface IncrementalProgress {
	/** Both sides were read up to their newest change. */
	finished: boolean;
	backlog: number;
	backlogAtLeast?: boolean;
	contactsPending: boolean;
	profilesPending: boolean;
}

/** One record's decisions: why each flag moved, or did not. */
export interface OptInOutRecordItem {
	contactid: string;
	profilePKey?: string;
	outcome: 'written' | 'conflict' | 'profileWithoutContact' | 'contactDeleted' | 'failed';
	decisions: OptOutDecision[];
	error?: string;
}

const CONCURRENCY = 4;
/** Where a modified-date read of changes starts after a pass over an empty table: every row. */
const EPOCH = '1970-01-01T00:00:00Z';
/** Pages of contact ids (5,000 each) a cycle reads for a full pass's starting delta link. */
const BASELINE_PAGES_PER_RUN = 40;

const NOTICE_DYNAMICS_TO_CAMPAIGN =
	'Direction is Dynamics 365 to Campaign: this node moves nothing. Map the opt-in/out fields in the contact → profile mapping of the Dynamics 365 to Campaign workflow (Apply Field Mapping).';

function emptySummary(direction: OptOutDirection): OptInOutSummary {
	return {
		direction,
		contactsRead: 0,
		contactsDeleted: 0,
		profilesRead: 0,
		pairsChecked: 0,
		writtenToDynamics: 0,
		writtenToCampaign: 0,
		conflicts: { total: 0, dynamicsWon: 0, campaignWon: 0, optedOutWon: 0 },
		unchanged: 0,
		profilesWithoutContact: 0,
		contactsWithoutProfile: 0,
		profilesWithoutExternalId: 0,
		errors: 0,
	};
}

/** A node parameter's value, or `fallback` when it is not set. */
export type ParameterOf = (name: string, fallback?: unknown) => unknown;

export interface OptInOutSettings {
	direction: OptOutDirection;
	mappings: OptOutMapping[];
	pageSize: number;
	maxRecordsPerRun: number;
	/** The profile field holding the contact id, and the filter that finds a profile by it. */
	key: string;
	keyFilter: string;
}

export interface OptInOutClients {
	dynamics: DataverseClient;
	campaign: CampaignClient;
}

export interface OptInOutCycle {
	/** One per pair handled, in the order they were handled. */
	records: OptInOutRecordItem[];
	/** What to keep for the next cycle (also when some pairs failed: they are retried). */
	state: OptInOutState;
	summary: OptInOutSummary;
}

function readMappings(parameter: ParameterOf): OptOutMapping[] {
	const raw = (parameter('mappings', {}) ?? {}) as Record<string, unknown>;
	const rows = (Array.isArray(raw.mapping) ? raw.mapping : []) as Array<Record<string, unknown>>;
	return rows.map((r) => ({
		dynamicsField: String(r.dynamicsField ?? '').trim(),
		campaignField: String(r.campaignField ?? '').trim(),
	}));
}

async function checkMappings(client: DataverseClient, mappings: OptOutMapping[]): Promise<void> {
	if (!mappings.length) {
		throw new SyncSettingsError(
			'Add at least one row to Mappings: with this direction, it says which Dynamics 365 boolean field pairs with which Campaign opt-out field.',
			'Mappings',
		);
	}
	const problems = validateOptOutMappings(mappings);
	const columns = await client.getColumns(CONTACT_TABLE);
	mappings.forEach((m, i) => {
		const column = columns.find((c) => c.logicalName === m.dynamicsField);
		if (m.dynamicsField && !column) {
			problems.push(
				`Mappings › row ${i + 1}: the contact table has no column "${m.dynamicsField}".`,
			);
		} else if (column && column.type !== 'Boolean') {
			problems.push(
				`Mappings › row ${i + 1}: contact column "${m.dynamicsField}" is of type ${column.type}; choose a boolean (Yes/No) column.`,
			);
		}
	});
	if (problems.length) {
		throw new SyncSettingsError(
			`The opt-in/out mappings need fixing: ${problems.join(' ')}`,
			'Mappings',
		);
	}
}

/** The flags of a row by mapping field name, read from the row's own names (`wireOf`). */
function flagValues(
	row: Record<string, unknown>,
	fields: string[],
	wireOf: (field: string) => string = (field) => field,
): Record<string, unknown> {
	const values: Record<string, unknown> = {};
	for (const f of fields) if (wireOf(f) in row) values[f] = row[wireOf(f)];
	return values;
}

/** Campaign's date of each opt-out field of a profile, by the mapping's field name. */
function flagDates(
	profile: CampaignRecord,
	wire: Map<string, OptOutWireField>,
): Record<string, string | undefined> {
	const dates: Record<string, string | undefined> = {};
	for (const [name, field] of wire) {
		const value = field.lastModified ? profile[field.lastModified] : undefined;
		dates[name] = typeof value === 'string' && value ? value : undefined;
	}
	return dates;
}

interface PairWork {
	id: string;
	contact?: DataverseRow;
	profile?: CampaignRecord;
	contactDeleted: boolean;
	duplicateProfiles: boolean;
	/** The contact was read by id in a full pass: absent means it does not exist. */
	paired?: boolean;
	/** The profile was found by its key in this cycle, so it is known to be the only one. */
	keyChecked?: boolean;
	/** Reading the contact failed: nothing is decided for this pair in this cycle. */
	contactReadError?: unknown;
}

/** The node's settings, checked: a bad option names itself. */
export function readOptInOutSettings(parameter: ParameterOf): OptInOutSettings {
	const options = (parameter('options', {}) ?? {}) as Record<string, unknown>;
	return {
		direction: parameter('direction') as OptOutDirection,
		mappings: readMappings(parameter),
		pageSize: wholeNumberSetting('Options › Page Size', options.pageSize, {
			fallback: 500,
			max: 1000,
		}),
		maxRecordsPerRun: wholeNumberSetting(
			'Options › Max Records per Run',
			options.maxRecordsPerRun,
			{ fallback: 5000 },
		),
		key: String(parameter('campaignKey', DEFAULT_PROFILE_KEY) || DEFAULT_PROFILE_KEY),
		keyFilter: String(parameter('campaignKeyFilter', '') ?? ''),
	};
}

/**
 * The summary of a direction under which this node moves nothing (no client is needed), or
 * undefined when it runs a cycle.
 */
export function idleSummary(direction: OptOutDirection): OptInOutSummary | undefined {
	if (direction === 'disabled') {
		return {
			...emptySummary(direction),
			notice: 'Opt-in/out synchronization is disabled: nothing moved.',
		};
	}
	if (direction === 'dynamicsToCampaign') {
		return { ...emptySummary(direction), notice: NOTICE_DYNAMICS_TO_CAMPAIGN };
	}
	return undefined;
}

/** One cycle over the pairs (see the top of this file); `prior` is undefined on the first. */
export async function runOptInOutCycle(
	settings: OptInOutSettings,
	{ dynamics, campaign }: OptInOutClients,
	prior: OptInOutState | undefined,
): Promise<OptInOutCycle> {
	const { direction, mappings, pageSize } = settings;
	const summary = emptySummary(direction);
	// A problem found against metadata an earlier run read is checked again against metadata
	// read now: a column, field or filter may have been added since.
	const [wire, keyAccess]: readonly [Map<string, OptOutWireField>, KeyAccess] =
		await checkedAgainstFreshMetadata([dynamics, campaign], async () => {
			await checkMappings(dynamics, mappings);
			const profileType = await campaign.resourceType(PROFILE_RESOURCE);
			// The UI speaks the spec's names; the profile answers with its own spelling of them.
			const fields = resolveOptOutFields(
				profileType,
				mappings.map((m) => m.campaignField),
			);
			const access = await resolveKeyAccess(
				campaign,
				PROFILE_RESOURCE,
				settings.key,
				{ filter: settings.keyFilter },
				profileType,
			);
			return [fields, access] as const;
		});
	const dynamicsFields = [...new Set(mappings.map((m) => m.dynamicsField))];
	const campaignFields = [...new Set(mappings.map((m) => m.campaignField))];
	const wireOf = (name: string) => wire.get(name)?.field ?? name;

	const state = adoptSettings(prior ?? emptyState(), settings);

	// 1. What to look at: a page of every profile (a full pass), or the changes since last time.
	const work = new Map<string, PairWork>();
	const deleted = new Set<string>();
	let finishPass: (() => void) | undefined;
	let finishIncremental: (() => void) | undefined;
	const full = state.pass || (!state.deltaLink && !state.dynamicsCursor);
	if (full) {
		finishPass = await fullPassStep();
	} else {
		const limit = settings.maxRecordsPerRun;
		const dynamicsChanges = await readDynamicsChanges(
			dynamics,
			state,
			dynamicsFields,
			pageSize,
			limit,
		);
		if (dynamicsChanges.expired) {
			summary.notice =
				'The Dynamics 365 change-tracking token had expired: every pair is checked again in a full pass (nothing is lost).';
			finishPass = await fullPassStep();
		} else {
			const campaignChanges = await readCampaignChanges(
				campaign,
				state,
				keyAccess.key,
				pageSize,
				limit,
			);
			summary.changeDetection = dynamicsChanges.mode;
			summary.contactsRead = dynamicsChanges.contacts.size;
			summary.contactsDeleted = dynamicsChanges.deleted.size;
			countProfiles(campaignChanges);
			for (const id of dynamicsChanges.deleted) deleted.add(id);
			// Every contact or profile that changed, plus the pairs that failed last time.
			for (const id of [
				...dynamicsChanges.contacts.keys(),
				...dynamicsChanges.deleted,
				...campaignChanges.profiles.keys(),
				...state.retry,
			]) {
				work.set(id, {
					id,
					contact: dynamicsChanges.contacts.get(id),
					profile: campaignChanges.profiles.get(id),
					contactDeleted: deleted.has(id),
					duplicateProfiles: campaignChanges.duplicates.has(id),
				});
			}
			summary.incremental = await incrementalProgress(dynamicsChanges, campaignChanges);
			finishIncremental = () => {
				if (dynamicsChanges.mode === 'changeTracking') {
					state.deltaLink = dynamicsChanges.deltaLink;
					state.dynamicsNextLink = dynamicsChanges.nextLink;
				} else {
					state.dynamicsCursor = dynamicsChanges.cursor;
				}
				state.campaignSince = campaignChanges.since;
				state.campaignSeen = campaignChanges.seen;
				state.campaignCatchUp = campaignChanges.catchUp;
			};
		}
	}

	/** How far the reads of changes got, and what they leave for the next runs (the Backlog). */
	async function incrementalProgress(
		contacts: DynamicsChanges,
		profiles: CampaignChanges,
	): Promise<IncrementalProgress> {
		const progress: IncrementalProgress = {
			finished: !contacts.more && !profiles.more,
			backlog: 0,
			contactsPending: contacts.more,
			profilesPending: profiles.more,
		};
		if (contacts.more) {
			const remaining = await remainingChanges(
				dynamics,
				CONTACT_TABLE,
				contacts.mode === 'modifiedOn'
					? contacts.cursor
						? { after: contacts.cursor }
						: {}
					: contacts.lastVersion !== undefined
						? { lastVersion: contacts.lastVersion }
						: {},
			);
			progress.backlog = remaining.count;
			if (remaining.atLeast) progress.backlogAtLeast = true;
		}
		return progress;
	}

	function countProfiles(page: ProfilePage) {
		summary.profilesRead += page.read;
		summary.profilesWithoutExternalId += page.withoutKey;
	}

	/**
	 * One step of a full pass: the starting delta link first (change tracking), then pages of
	 * profiles, each paired with its contact read by id, up to "Max Records per Run" profiles.
	 * Returns what to store once the pairs are written.
	 */
	async function fullPassStep(): Promise<() => void> {
		const table = await dynamics.getTable(CONTACT_TABLE);
		summary.changeDetection = table.changeTrackingEnabled ? 'changeTracking' : 'modifiedOn';
		let pass = state.pass ?? { startedAt: new Date().toISOString() };
		if (!pass.from && !pass.nextHref && !pass.profilesRead) {
			pass = {
				...pass,
				from: await newestChanges(dynamics, campaign, !table.changeTrackingEnabled),
			};
		}
		if (table.changeTrackingEnabled && !pass.baselineDeltaLink) {
			pass = await readBaselineStep(dynamics, pass, dynamicsFields, BASELINE_PAGES_PER_RUN);
			if (!pass.baselineDeltaLink) return () => (state.pass = pass);
		}
		let read = 0;
		let nextHref = pass.nextHref;
		let finished = false;
		while (read < settings.maxRecordsPerRun) {
			const page = await readProfilePage(campaign, keyAccess.key, pageSize, nextHref);
			countProfiles(page);
			read += page.read;
			const contacts = await readContacts(dynamics, [...page.profiles.keys()], dynamicsFields);
			summary.contactsRead += contacts.size;
			for (const [id, profile] of page.profiles) {
				const contact = contacts.get(id);
				work.set(id, {
					id,
					contact,
					profile,
					contactDeleted: !contact,
					duplicateProfiles: page.duplicates.has(id),
					paired: true,
				});
			}
			nextHref = page.nextHref;
			if (!nextHref) {
				finished = true;
				break;
			}
		}
		const profilesRead = (pass.profilesRead ?? 0) + read;
		summary.fullPass = { profilesRead, finished };
		const step = { ...pass, profilesRead, ...(nextHref ? { nextHref } : {}) };
		return () => {
			if (!finished) {
				state.pass = step;
				return;
			}
			delete state.pass;
			const baseline = step.baselineDeltaLink;
			delete state.dynamicsNextLink;
			// The reads of changes start at the newest dates the services showed as the pass began,
			// by their own clocks (this machine's may differ; Dataverse shows seconds), so no change
			// made during the pass is missed. A pass stored before they were kept starts at its start.
			const from = step.from ?? {
				dynamics: step.startedAt.replace(/\.\d+Z$/, 'Z'),
				campaign: step.startedAt,
			};
			if (baseline) state.deltaLink = baseline;
			else state.dynamicsCursor = { modifiedOn: from.dynamics ?? EPOCH, id: '' };
			state.campaignSince = from.campaign;
			delete state.campaignSeen;
			delete state.campaignCatchUp;
		};
	}

	// 2. Each pair: decide per flag, then write.
	const records: OptInOutRecordItem[] = [];
	const retry: string[] = [];
	const pairKeys = state.pairKeys;

	// Pairs whose profile changed (or failed last time) without a change of the contact: their
	// contacts are read 50 ids a request, not one request each.
	const unread = [...work.values()].filter((p) => !p.paired && !p.contact && !p.contactDeleted);
	const batches: PairWork[][] = [];
	for (let i = 0; i < unread.length; i += IDS_PER_QUERY) {
		batches.push(unread.slice(i, i + IDS_PER_QUERY));
	}
	await mapWithConcurrency(batches, CONCURRENCY, async (batch) => {
		try {
			const contacts = await readContacts(
				dynamics,
				batch.map((p) => p.id),
				dynamicsFields,
			);
			for (const p of batch) {
				p.contact = contacts.get(p.id);
				// Asked for by id and not answered: the contact does not exist.
				if (!p.contact) p.contactDeleted = true;
			}
		} catch (error) {
			// The contacts stay unknown: these pairs fail (and are retried), the others go on.
			for (const p of batch) p.contactReadError = error;
		}
	});

	const results = await mapWithConcurrency([...work.values()], CONCURRENCY, async (pair) => {
		try {
			return await syncPair(pair);
		} catch (error) {
			const failed = failureMessage(error, pair.id);
			return { id: pair.id, failed, profile: pair.profile } as const;
		}
	});

	function severalProfiles(id: string): SyncDataError {
		return new SyncDataError(
			`Several Campaign profiles have ${keyAccess.key} ${id}: keep one, then the flags sync again`,
			id,
			keyAccess.key,
			id,
		);
	}

	/** The profiles holding this key: before a write, so a duplicate is never written to blindly. */
	async function profilesOf(client: CampaignClient, id: string) {
		return await findByKey(client, keyAccess, id);
	}

	async function syncPair(pair: PairWork) {
		const { id } = pair;
		if (pair.contactReadError) throw pair.contactReadError;
		if (!pair.profile && !pair.duplicateProfiles && !pair.contactDeleted) {
			const found = await profilesOf(campaign, id);
			if (found.length > 1) pair.duplicateProfiles = true;
			pair.profile = found[0];
			pair.keyChecked = true;
		}
		if (pair.duplicateProfiles) throw severalProfiles(id);
		const previous = decodeMemory(pairCode(state, id), pairKeys);
		const resolution = resolveOptOut({
			direction,
			mappings,
			contact:
				pair.contact && !pair.contactDeleted
					? {
							values: flagValues(pair.contact, dynamicsFields),
							modifiedOn: String(pair.contact.modifiedon ?? ''),
						}
					: undefined,
			profile: pair.profile
				? {
						values: flagValues(pair.profile, campaignFields, wireOf),
						lastModified: String(pair.profile.lastModified ?? ''),
						flagModified: flagDates(pair.profile, wire),
					}
				: undefined,
			previous,
		});
		const toDynamics: Record<string, boolean> = {};
		const toCampaign: Record<string, boolean> = {};
		for (const d of resolution.decisions) {
			if (d.write === 'dynamics') toDynamics[d.dynamicsField] = d.value === true;
			if (d.write === 'campaign') toCampaign[wireOf(d.campaignField)] = d.value === true;
		}
		const check = pair.paired
			? // A full pass visits every profile, duplicates included, and writes each one its own
				// way; the contact is written only for a key one profile holds.
				Object.keys(toDynamics).length > 0
			: Object.keys(toCampaign).length + Object.keys(toDynamics).length > 0;
		if (!pair.keyChecked && check) {
			// The profile came from a page or a list of changes, which may not show a second
			// profile with the same key.
			const found = await profilesOf(campaign, id);
			if (found.length > 1) throw severalProfiles(id);
		}
		if (Object.keys(toDynamics).length) await dynamics.update(CONTACT_TABLE, id, toDynamics);
		if (Object.keys(toCampaign).length && pair.profile) {
			const href =
				typeof pair.profile.href === 'string'
					? pair.profile.href
					: campaign.recordHref(PROFILE_RESOURCE, String(pair.profile.PKey));
			await campaign.patch(href, toCampaign);
		}
		return { id, pair, resolution, toDynamics, toCampaign } as const;
	}

	for (const result of results) {
		const id = result.id;
		if ('failed' in result) {
			summary.errors += 1;
			retry.push(id);
			records.push({
				contactid: id,
				...(result.profile?.PKey ? { profilePKey: String(result.profile.PKey) } : {}),
				outcome: 'failed',
				decisions: [],
				error: result.failed,
			});
			continue;
		}
		const { pair, resolution, toDynamics, toCampaign } = result;
		const base = {
			contactid: id,
			...(pair.profile?.PKey ? { profilePKey: String(pair.profile.PKey) } : {}),
			decisions: resolution.decisions,
		};
		if (pair.contactDeleted) {
			const known = pairCode(state, id) !== undefined;
			// The pair is gone: forget it, so a contact recreated with this id starts fresh.
			setPairCode(state, id, undefined);
			if (deleted.has(id)) {
				if (known || pair.profile) records.push({ ...base, outcome: 'contactDeleted' });
			} else if (pair.profile) {
				summary.profilesWithoutContact += 1;
				records.push({ ...base, outcome: 'profileWithoutContact' });
			}
			continue;
		}
		if (!pair.profile) {
			summary.contactsWithoutProfile += 1;
			continue;
		}
		summary.pairsChecked += 1;
		rememberPair(state, id, resolution.next);
		const dCount = Object.keys(toDynamics).length;
		const cCount = Object.keys(toCampaign).length;
		if (dCount) summary.writtenToDynamics += 1;
		if (cCount) summary.writtenToCampaign += 1;
		const conflicts = resolution.decisions.filter(
			(d) => d.rule === 'conflictNewerWins' || d.rule === 'conflictOptedOutWins',
		);
		for (const c of conflicts) {
			summary.conflicts.total += 1;
			if (c.rule === 'conflictOptedOutWins') summary.conflicts.optedOutWon += 1;
			else if (c.write === 'campaign') summary.conflicts.dynamicsWon += 1;
			else summary.conflicts.campaignWon += 1;
		}
		if (!dCount && !cCount) {
			summary.unchanged += 1;
			continue;
		}
		records.push({ ...base, outcome: conflicts.length ? 'conflict' : 'written' });
	}

	state.retry = retry;
	finishPass?.();
	finishIncremental?.();
	return { records, state, summary };
}

/**
 * Ties the state to the current settings: memory digits follow the mapping order, and a change of
 * mappings or of the Campaign key starts a full pass so every pair is aligned under them.
 */
function adoptSettings(state: OptInOutState, settings: OptInOutSettings): OptInOutState {
	const pairKeys = settings.mappings.map(optOutPairKey);
	const signature = [pairKeys.join(','), settings.key, settings.keyFilter].join('|');
	if (state.settings === signature) return state;
	const adopted: OptInOutState = {
		...emptyState(),
		pairKeys,
		retry: state.retry,
		settings: signature,
		pass: { startedAt: new Date().toISOString() },
	};
	for (const [id, code] of rememberedPairs(state)) {
		setPairCode(adopted, id, encodeMemory(decodeMemory(code, state.pairKeys), pairKeys));
	}
	return adopted;
}
