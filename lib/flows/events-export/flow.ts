/**
 * Email Events Export: Campaign email events (send, open, click, bounce) → Dynamics 365 timeline
 * activities regarding the contact, upserted by the event id's alternate key in `$batch`es.
 *
 * A run: check the activity tables (targets.ts); retry the failed events kept from earlier runs;
 * read the events modified since the stored position (lib/campaign/events.ts), up to Max Events
 * per Run; pair each event's profile with its contact; write; then move the position past the
 * events handled, keeping the failures to retry. No event is ever passed by without being
 * exported, skipped by its type, or kept: when the kept list is full, the position stops before
 * the first failure that did not fit.
 */
import { createHash } from 'crypto';

import type { CampaignClient, CampaignRecord } from '../../campaign/client';
import {
	BEGINNING,
	readEventsAfter,
	resolveEventSource,
	type EventPosition,
	type EventSource,
} from '../../campaign/events';
import { findByKey, resolveKeyAccess, type KeyAccess } from '../../campaign/keys';
import {
	idFromEntityUrl,
	lookupTableOf,
	type BatchWrite,
	type DataverseClient,
} from '../../dynamics/client';
import { inList } from '../../dynamics/odata';
import { mapWithConcurrency } from '../../http/limiter';
import {
	eventTypesEnabled,
	toActivity,
	validateEvent,
	type EmailEvent,
	type EmailEventType,
} from '../../sync/events';
import { isGuid } from '../../sync/values';
import { describeValue, SyncSettingsError } from '../../sync/errors';
import { checkedAgainstFreshMetadata } from '../metadata';
import type { ExportSettings } from './settings';
import { stateFor, type ExportState, type KeptFailure } from './state';
import { prepareTargets } from './targets';

/** Small batches go several at a time, as Microsoft's advice on small batches says; 429s are waited out. */
const BATCHES_IN_FLIGHT = 4;
/** Contact ids per lookup query: keeps the `$filter` URL well under Dataverse's URL length limit. */
const IDS_PER_LOOKUP = 100;
const PROFILE_RESOURCE = 'profileAndServicesExt/profile';
/** Kept failures named in the summary. */
const LISTED = 20;

type Counts = Record<EmailEventType, number>;

export interface ExportSummary {
	/** New events read from Campaign (or input items). */
	eventsRead: number;
	exported: Counts & { total: number };
	/** Events of a type switched off. */
	skipped: Counts & { total: number };
	/** Events whose profile has no Campaign key: the profile is no Dynamics 365 contact's. */
	noContact: number;
	/** Events that failed in this run for the first time. */
	failed: number;
	/** Kept failures tried again: exported now, still failing, no longer in Campaign. */
	retries: { tried: number; exported: number; stillFailing: number; gone: number };
	/** Failed events kept to retry after this run, and the first of them. */
	failedKept: number;
	failedKeptIds: string[];
	followUpTasks: number;
	/** The modification date reading reached. */
	position?: string;
	/** What the run created in Dynamics 365 (Create Missing Activity Tables). */
	created?: string[];
	/** Why nothing was read, or what the user should know. */
	notice?: string;
}

const zero = (): Counts & { total: number } => ({
	send: 0,
	open: 0,
	click: 0,
	bounce: 0,
	total: 0,
});

/** The follow-up task's id, derived from the event id so a re-run updates the same task. */
function followUpTaskId(eventId: string): string {
	const h = createHash('sha256').update(`email-event-follow-up:${eventId}`).digest('hex');
	const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Where an event came from: the read after the position, a kept failure, or an input item. */
type Origin = 'read' | 'retry' | 'input';

/**
 * What happened to one event. `invalid`: the record itself is unusable (Campaign sends it again
 * once it is edited, with a new modification date); `failed`: it could be exported later (a
 * contact, a profile or Dynamics 365 said no), so it is kept to retry.
 */
type Status = 'exported' | 'skipped' | 'noContact' | 'invalid' | 'failed';

interface Work {
	origin: Origin;
	raw: unknown;
	itemIndex: number;
	eventId?: string;
	/** The record's modification date (events read from Campaign). */
	modified?: string;
	event?: EmailEvent;
	contactId?: string;
	activityId?: string;
	taskId?: string;
	status?: Status;
	reason?: string;
}

/** The id a raw event gives itself, valid or not (to name it). */
function idOf(raw: unknown, settings: ExportSettings): string | undefined {
	if (!raw || typeof raw !== 'object') return undefined;
	const id = (raw as Record<string, unknown>)[settings.fields.eventId];
	return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/** A contact's owner: a user or a team, as `_ownerid_value@…lookuplogicalname` says. */
interface Owner {
	id: string;
	table?: string;
}

/** Finds which contact ids exist (and their owners) with one `in`-style query per 100 ids. */
async function lookUpContacts(
	dataverse: DataverseClient,
	ids: string[],
	withOwner: boolean,
): Promise<Map<string, Owner | undefined>> {
	const found = new Map<string, Owner | undefined>();
	const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
	for (let i = 0; i < unique.length; i += IDS_PER_LOOKUP) {
		const slice = unique.slice(i, i + IDS_PER_LOOKUP);
		const rows = await dataverse.query('contact', {
			select: withOwner ? ['contactid', 'ownerid'] : ['contactid'],
			filter: inList('contactid', slice, 'guid'),
			formattedValues: false,
			lookupTables: withOwner,
		});
		for (const row of rows) {
			const owner = row._ownerid_value;
			const table = lookupTableOf(row, '_ownerid_value');
			found.set(
				String(row.contactid).toLowerCase(),
				typeof owner === 'string' ? { id: owner, ...(table ? { table } : {}) } : undefined,
			);
		}
	}
	return found;
}

function followUpTask(
	event: EmailEvent,
	contactBind: Record<string, unknown>,
	ownerBind: Record<string, unknown> | undefined,
): Record<string, unknown> {
	const what =
		event.type === 'click'
			? `clicked a link in "${event.deliveryName}"`
			: `email "${event.deliveryName}" bounced`;
	const lines = [
		`Campaign: ${event.campaignName}`,
		`Delivery: ${event.deliveryName}`,
		`Date: ${event.date}`,
		...(event.clickedUrl ? [`Clicked URL: ${event.clickedUrl}`] : []),
		`Campaign event: ${event.eventId}`,
	];
	return {
		subject: `Follow up: ${what}`.slice(0, 200),
		description: lines.join('\n'),
		...contactBind,
		...(ownerBind ?? {}),
	};
}

/** The Campaign side of a run, resolved once: the event source and the two key filters. */
class CampaignSide {
	private source?: EventSource;
	private eventKey?: Promise<KeyAccess | Error>;
	private profileKey?: Promise<KeyAccess>;

	constructor(
		readonly client: CampaignClient,
		private readonly settings: ExportSettings,
	) {}

	async eventSource(): Promise<EventSource> {
		const s = this.settings;
		const client = this.client;
		// A problem found against metadata an earlier run read is checked again against metadata
		// read now: the administrator may have published the filter or field since.
		return (this.source ??= await checkedAgainstFreshMetadata([client], async () =>
			resolveEventSource(client, {
				resource: s.campaign.resource,
				filter: s.campaign.filter,
				parameter: s.campaign.parameter,
				dateField: s.campaign.dateField,
				fields: { 'Event Fields › Event ID': s.fields.eventId },
			}),
		));
	}

	/** How events are found by id (to retry them); an Error says why they cannot be. */
	eventKeyAccess(): Promise<KeyAccess | Error> {
		return (this.eventKey ??= (async () => {
			const source = await this.eventSource();
			try {
				const client = this.client;
				return await checkedAgainstFreshMetadata([client], async () =>
					resolveKeyAccess(
						client,
						source.path,
						this.settings.fields.eventId,
						{
							filter: this.settings.campaign.eventKeyFilter || undefined,
							settings: {
								key: 'Event Fields › Event ID in Email Events Export',
								filter: 'Campaign Events › Event ID Filter in Email Events Export',
							},
						},
						source.type,
					),
				);
			} catch (error) {
				return error instanceof Error ? error : new Error(String(error));
			}
		})());
	}

	/** The profile key setting, checked against Campaign's metadata as the other nodes do. */
	profileKeyAccess(): Promise<KeyAccess> {
		return (this.profileKey ??= (async () => {
			const client = this.client;
			return await checkedAgainstFreshMetadata([client], async () =>
				resolveKeyAccess(client, PROFILE_RESOURCE, this.settings.profileKey, {
					filter: this.settings.profileKeyFilter || undefined,
					settings: {
						key: 'Campaign Profile Key in Email Events Export',
						filter: 'Profile Key Filter in Email Events Export',
					},
				}),
			);
		})());
	}
}

/** The kept failures, found again in Campaign by their id (fresh records, fresh hrefs). */
async function retryWork(
	campaign: CampaignSide,
	state: ExportState,
	work: Work[],
	summary: ExportSummary,
): Promise<Set<string>> {
	const retried = new Set<string>();
	if (!state.failed.length) return retried;
	const access = await campaign.eventKeyAccess();
	if (access instanceof Error) {
		throw new Error(
			`${state.failed.length} failed email events wait to be retried, but they cannot be found again in Campaign: ${access.message}`,
		);
	}
	const client = campaign.client;
	for (const kept of state.failed) {
		summary.retries.tried++;
		retried.add(kept.eventId);
		const [record] = await findByKey(client, access, kept.eventId);
		if (!record) {
			summary.retries.gone++;
			continue;
		}
		work.push({
			origin: 'retry',
			raw: record,
			itemIndex: 0,
			eventId: kept.eventId,
		});
	}
	return retried;
}

/** The events after the stored position, up to Max Events per Run (events just retried are skipped). */
async function readWork(
	campaign: CampaignSide,
	settings: ExportSettings,
	position: EventPosition,
	retried: ReadonlySet<string>,
	work: Work[],
): Promise<number> {
	const source = await campaign.eventSource();
	const eventIdOf = (record: CampaignRecord) => idOf(record, settings) ?? '';
	let read = 0;
	for await (const record of readEventsAfter(
		campaign.client,
		source,
		position,
		Math.min(settings.pageSize, settings.maxEventsPerRun),
		eventIdOf,
	)) {
		const eventId = eventIdOf(record);
		work.push({
			origin: 'read',
			raw: record,
			itemIndex: 0,
			eventId,
			modified: String(record[source.dateField]),
			// An event just retried is handled: reading it again would write it twice.
			...(eventId && retried.has(eventId) ? { status: 'exported' as const } : {}),
		});
		if (++read >= settings.maxEventsPerRun) break;
	}
	return read;
}

/** The contact of each event: its profile's Campaign key, from the event or read from the profile. */
async function pairContacts(
	campaign: CampaignSide,
	settings: ExportSettings,
	pending: Work[],
	summary: ExportSummary,
): Promise<void> {
	const profiles = new Map<string, Promise<CampaignRecord | undefined>>();
	for (const w of pending) {
		const event = w.event!;
		let key = event.profileKey;
		if (!key && event.profileHref) {
			const access = await campaign.profileKeyAccess();
			const client = campaign.client;
			// The href from the answer that carried the event: PKeys change between answers on
			// Campaign v8 tenants (experience-cloud.en help/campaign/api/limitations.md).
			const href = event.profileHref;
			if (!profiles.has(href)) profiles.set(href, client.get(href));
			const profile = await profiles.get(href);
			if (!profile) {
				w.status = 'failed';
				w.reason = `Event ${event.eventId}: Campaign has no profile at ${event.profileHref.split('?')[0]}`;
				continue;
			}
			if (!(access.key in profile)) {
				w.status = 'failed';
				w.reason = `Event ${event.eventId}: Campaign's answer for the profile has no "${access.key}" (Campaign Profile Key)`;
				continue;
			}
			const value = profile[access.key];
			key = value === null || value === undefined ? '' : String(value).trim();
			if (!key) {
				// A profile without the key did not come from Dynamics 365: no contact to write to.
				w.status = 'noContact';
				summary.noContact++;
				continue;
			}
		}
		if (!key || !isGuid(key)) {
			w.status = 'failed';
			w.reason = `Event ${event.eventId}: the profile's ${settings.profileKey} ${describeValue(key ?? '')} is not a Dynamics 365 contact id (a GUID)`;
			continue;
		}
		w.contactId = key.toLowerCase();
	}
}

/** Writes the activities (and follow-up tasks) of the paired events, batch by batch. */
async function writeActivities(
	dataverse: DataverseClient,
	settings: ExportSettings,
	entitySets: Map<EmailEventType, string>,
	paired: Work[],
	summary: ExportSummary,
): Promise<void> {
	// Contacts are looked up for many events at once; the writes go in batches of Batch Size.
	const groupSize = Math.max(settings.batchSize, IDS_PER_LOOKUP);
	for (let start = 0; start < paired.length; start += groupSize) {
		const group = paired.slice(start, start + groupSize);
		const contacts = await lookUpContacts(
			dataverse,
			group.map((w) => w.contactId!),
			settings.createFollowUpTasks,
		);
		const ops: Array<{ op: BatchWrite; work: Work; kind: 'activity' | 'task' }> = [];
		for (const w of group) {
			const event = w.event!;
			if (!contacts.has(w.contactId!)) {
				w.status = 'failed';
				w.reason = `Event ${event.eventId}: no Dynamics 365 contact has the id ${w.contactId} (the profile's ${settings.profileKey})`;
				continue;
			}
			const table = settings.tables[event.type];
			const activity = toActivity(event, w.contactId!, {
				entitySet: entitySets.get(event.type)!,
				regardingNavigation: `regardingobjectid_contact_${table}`,
				columns: settings.columns,
			});
			ops.push({
				work: w,
				kind: 'activity',
				op: {
					upsert: {
						table,
						key: { [activity.alternateKey.column]: activity.alternateKey.value },
						data: activity.row,
					},
				},
			});
			if (settings.createFollowUpTasks && (event.type === 'click' || event.type === 'bounce')) {
				const owner = contacts.get(w.contactId!);
				w.taskId = followUpTaskId(event.eventId);
				ops.push({
					work: w,
					kind: 'task',
					op: {
						method: 'PATCH',
						url: await dataverse.batchUrl('task', w.taskId),
						body: followUpTask(
							event,
							await dataverse.bind('regardingobjectid_contact_task', 'contact', w.contactId!),
							// An owner is a user or a team: bind to the table its lookup names. When
							// Dataverse does not say which, the task keeps its default owner.
							owner?.table ? await dataverse.bind('ownerid', owner.table, owner.id) : undefined,
						),
					},
				});
			}
		}
		const slices: Array<typeof ops> = [];
		for (let i = 0; i < ops.length; i += settings.batchSize) {
			slices.push(ops.slice(i, i + settings.batchSize));
		}
		const answers = await mapWithConcurrency(
			slices,
			BATCHES_IN_FLIGHT,
			async (slice) =>
				await dataverse.batchWrites(
					slice.map((o) => o.op),
					{ continueOnError: true },
				),
		);
		slices.forEach((slice, n) => {
			slice.forEach((o, k) => {
				const r = answers[n][k];
				const w = o.work;
				if (r && r.outcome === 'succeeded') {
					if (o.kind === 'activity') w.activityId = idFromEntityUrl(r.headers['odata-entityid']);
					else summary.followUpTasks++;
					return;
				}
				const why = r?.error
					? `${r.error.code ? `${r.error.code} ` : ''}${r.error.message}`
					: `not executed (status ${r?.status ?? 0})`;
				const what =
					o.kind === 'activity'
						? `Dynamics 365 refused the ${settings.tables[w.event!.type]} activity`
						: 'the activity was written, but Dynamics 365 refused the follow-up task';
				if (w.status !== 'failed') {
					w.status = 'failed';
					w.reason = `Event ${w.event!.eventId}: ${what}: ${why}`;
				}
			});
		});
		for (const w of group) w.status ??= 'exported';
	}
}

/**
 * The next state: the position moves over the events read in order while each was handled;
 * failures are kept while there is room. Returns the work items that stopped the position.
 */
function nextState(
	state: ExportState,
	work: Work[],
	settings: ExportSettings,
	canKeep: boolean,
	now: string,
): { state: ExportState; blocked?: Work } {
	const kept = new Map<string, KeptFailure>();
	const previous = new Map(state.failed.map((f) => [f.eventId, f]));
	for (const w of work) {
		if (w.origin !== 'retry' || !w.eventId || w.status !== 'failed') continue;
		const before = previous.get(w.eventId)!;
		kept.set(w.eventId, {
			...before,
			reason: w.reason ?? before.reason,
			attempts: before.attempts + 1,
		});
	}
	// The others were exported, are no longer in Campaign, or are now invalid records (Campaign
	// sends those again once they are edited): none is kept.
	let position = state.position;
	let blocked: Work | undefined;
	for (const w of work) {
		if (w.origin !== 'read') continue;
		if (w.status === 'failed') {
			const room = canKeep && w.eventId && kept.size < settings.maxFailedKept;
			if (!room) {
				blocked = w;
				break;
			}
			if (!kept.has(w.eventId!)) {
				kept.set(w.eventId!, {
					eventId: w.eventId!,
					reason: w.reason ?? 'failed',
					attempts: 1,
					firstFailedAt: now,
				});
			}
		}
		const since = w.modified!;
		position =
			position && position.since === since
				? { since, handled: [...position.handled, w.eventId ?? ''] }
				: { since, handled: [w.eventId ?? ''] };
	}
	const next: ExportState = { ...state, failed: [...kept.values()] };
	if (position) next.position = position;
	return blocked ? { state: next, blocked } : { state: next };
}

/** What the node reports for one event, as its result item's json (or the failure's details). */
export interface EventResult {
	eventId: string | null;
	type?: EmailEventType;
	contactId?: string;
	/** The activity table written. */
	table?: string;
	/** A kept failure tried again. */
	retried?: true;
	activityId?: string;
	followUpTaskId?: string;
	status: 'exported' | 'failed';
}

/** One event handled: exported, or failed (`error` says why). */
export interface EventOutcome {
	/** The input item it came from (0 for events read from Campaign). */
	item: number;
	result: EventResult;
	error?: string;
}

export interface ExportRun {
	settings: ExportSettings;
	dataverse: DataverseClient;
	campaign: CampaignClient;
	/** The input items' json, when the source is the input. */
	input: readonly unknown[];
	/** The stored state (source Campaign), if any. */
	state: ExportState | undefined;
	/** The run's time, for kept failures (an ISO date; default: now). */
	now?: string;
}

export interface ExportResult {
	/** Events exported and events that failed, in order; skipped ones are only counted. */
	outcomes: EventOutcome[];
	/** The state to store; undefined when nothing is kept (input items, or a run that read nothing). */
	state?: ExportState;
	summary: ExportSummary;
	/** What becomes of the failures, for the run's error. */
	failuresNote: string;
}

/**
 * A run of Email Events Export. Throws (settings, or a service's error before any event could be
 * handled) with nothing advanced: the next run reads the same events again (writes are upserts).
 */
export async function exportEmailEvents(run: ExportRun): Promise<ExportResult> {
	const { settings, dataverse } = run;
	const enabled = eventTypesEnabled(settings.types);
	const summary: ExportSummary = {
		eventsRead: 0,
		exported: zero(),
		skipped: zero(),
		noContact: 0,
		failed: 0,
		retries: { tried: 0, exported: 0, stillFailing: 0, gone: 0 },
		failedKept: 0,
		failedKeptIds: [],
		followUpTasks: 0,
	};
	if (!enabled.size) {
		// The spec lets every type be off: a quiet run that reads nothing and keeps the checkpoint.
		summary.notice =
			'Sends, Opens, Clicks and Bounces are all set to No: no event was read or exported.';
		return { outcomes: [], summary, failuresNote: '' };
	}

	const created: string[] = [];
	const targets = await prepareTargets(dataverse, settings, enabled, created).catch(
		async (error: unknown) => {
			// A problem found against metadata an earlier run read is checked once more against
			// metadata read now (a table, column or key added since); the keys were waited for.
			if (!(error instanceof SyncSettingsError) || !dataverse.forgetCachedMetadata()) {
				throw error;
			}
			return await prepareTargets(dataverse, settings, enabled, created, 0);
		},
	);
	if (targets.created.length) summary.created = targets.created;
	const campaign = new CampaignSide(run.campaign, settings);
	const work: Work[] = [];
	let state: ExportState | undefined;

	// 1. The events: kept failures and Campaign's records after the position, or the input items.
	if (settings.source === 'campaign') {
		const found = stateFor(run.state, settings.campaign.resource);
		state = found.state;
		if (found.previous) {
			summary.notice = `The event resource changed from "${found.previous.resource}" to "${settings.campaign.resource}": its events are read from the beginning${found.previous.failed.length ? `; the ${found.previous.failed.length} failed events kept for "${found.previous.resource}" are no longer retried` : ''}.`;
		}
		const retried = await retryWork(campaign, state, work, summary);
		summary.eventsRead = await readWork(
			campaign,
			settings,
			state.position ?? { since: BEGINNING, handled: [] },
			retried,
			work,
		);
	} else {
		run.input.forEach((raw, i) => work.push({ origin: 'input', raw, itemIndex: i }));
		summary.eventsRead = work.length;
	}

	// 2. Check each event and keep the selected types.
	for (const w of work) {
		if (w.status) continue;
		const checked = validateEvent(w.raw, settings.fields);
		w.eventId ??= idOf(w.raw, settings);
		if (!checked.ok) {
			w.status = 'invalid';
			w.reason = checked.reason;
			continue;
		}
		w.event = checked.event;
		w.eventId = checked.event.eventId;
		if (!enabled.has(checked.event.type)) {
			w.status = 'skipped';
			summary.skipped[checked.event.type]++;
			summary.skipped.total++;
		}
	}

	// 3. Pair each event with its contact, then write.
	const pending = work.filter((w) => !w.status);
	await pairContacts(campaign, settings, pending, summary);
	const paired = pending.filter((w) => !w.status);
	await writeActivities(dataverse, settings, targets.entitySets, paired, summary);

	// 4. Move the position over what was handled; keep the failures to retry.
	let blocked: Work | undefined;
	let next: ExportState | undefined;
	if (state) {
		const canKeep = work.some((w) => w.origin === 'read' && w.status === 'failed')
			? !((await campaign.eventKeyAccess()) instanceof Error)
			: true;
		const moved = nextState(state, work, settings, canKeep, run.now ?? new Date().toISOString());
		blocked = moved.blocked;
		next = moved.state;
		if (blocked && !canKeep) {
			const why = (await campaign.eventKeyAccess()) as Error;
			summary.notice = `Failed events cannot be kept to retry (${why.message}), so reading stops before the first one until it is exported.`;
		} else if (blocked) {
			summary.notice = `${settings.maxFailedKept} failed events are kept to retry (Options › Failed Events Kept): reading stops before the next failure until some are exported.`;
		}
		summary.failedKept = next.failed.length;
		summary.failedKeptIds = next.failed.slice(0, LISTED).map((f) => f.eventId);
		if (next.position) summary.position = next.position.since;
	}

	// 5. One outcome per event handled, in order; the failures of this run among them.
	const outcomes: EventOutcome[] = [];
	const blockedAt = blocked ? work.indexOf(blocked) : -1;
	work.forEach((w, index) => {
		// Past the blocking failure, events are read again next run: they are not reported yet.
		if (blockedAt >= 0 && index > blockedAt && w.origin === 'read') return;
		const result: EventResult = { eventId: w.eventId ?? null, status: 'exported' };
		if (w.event) result.type = w.event.type;
		if (w.contactId) result.contactId = w.contactId;
		if (w.event && w.contactId) result.table = settings.tables[w.event.type];
		if (w.origin === 'retry') result.retried = true;
		if (w.status === 'exported') {
			if (!w.event) return;
			summary.exported[w.event.type]++;
			summary.exported.total++;
			if (w.origin === 'retry') summary.retries.exported++;
			if (w.activityId) result.activityId = w.activityId;
			if (w.taskId) result.followUpTaskId = w.taskId;
			outcomes.push({ item: w.itemIndex, result });
			return;
		}
		if (w.status === 'skipped' || w.status === 'noContact') return;
		// A kept failure that still fails is reported again: the run stays red (or the event stays
		// on the error output) until it is exported, so an admin never sees green over a lost event.
		if (w.origin === 'retry' && w.status === 'failed') summary.retries.stillFailing++;
		summary.failed++;
		result.status = 'failed';
		outcomes.push({ item: w.itemIndex, result, error: w.reason ?? 'failed' });
	});
	const failuresNote = `The other events were written.${
		settings.source === 'input'
			? ''
			: blocked
				? `\nReading stops before the first of them until it is exported: ${summary.notice ?? ''}`
				: '\nThey are kept and tried again on every run until they are exported (those tried again are marked "retried").'
	}`;
	return { outcomes, ...(next ? { state: next } : {}), summary, failuresNote };
}
