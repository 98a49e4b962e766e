/**
 * Email Events Export: Campaign email events (send, open, click, bounce) → Dynamics 365 timeline
 * activities regarding the contact, upserted by the event id's alternate key in `$batch`es.
 */
import { createHash } from 'crypto';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { CampaignClient, CampaignRecord, EventCheckpoint } from '../../lib/campaign/client';
import {
	idFromEntityUrl,
	LOOKUP_LOGICAL_NAME,
	type BatchWrite,
	type DataverseClient,
} from '../../lib/dynamics/client';
import { inList } from '../../lib/dynamics/odata';
import { mapWithConcurrency } from '../../lib/http/limiter';
import {
	eventTypesEnabled,
	toActivity,
	validateEvent,
	type ActivityColumns,
	type EmailEvent,
	type EmailEventType,
} from '../../lib/sync/events';
import { describeValue } from '../../lib/sync/errors';
import { campaignClient, dataverseClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { readExportState, writeExportState } from './state';

export const SUMMARY_KEY = '_summary';
/** Dataverse's limit of operations in one `$batch`. */
export const MAX_BATCH_SIZE = 1000;
/**
 * Microsoft advises small batches ("start with a small batch size of 10", api-limits.md, "Avoid
 * large batches"): a large batch runs long and meets the execution-time limit sooner.
 */
export const DEFAULT_BATCH_SIZE = 10;
/** Small batches go several at a time, as the same advice says; 429s are waited out and retried. */
const BATCHES_IN_FLIGHT = 4;
/** Contact ids per lookup query: keeps the `$filter` URL well under Dataverse's URL length limit. */
const IDS_PER_LOOKUP = 100;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PROFILE_RESOURCE = 'profileAndServicesExt/profile';

export type EventSource = 'campaign' | 'input';

export interface ExportSettings {
	source: EventSource;
	types: { sends: boolean; opens: boolean; clicks: boolean; bounces: boolean };
	tables: Record<EmailEventType, string>;
	columns: ActivityColumns;
	createFollowUpTasks: boolean;
	batchSize: number;
	maxEventsPerRun: number;
	pageSize: number;
	eventResource: string;
}

type Counts = Record<EmailEventType, number>;

export interface ExportSummary {
	eventsRead: number;
	exported: Counts & { total: number };
	skipped: Counts & { total: number };
	failed: number;
	followUpTasks: number;
	/** Why nothing was read, when nothing could be. */
	notice?: string;
}

const zero = (): Counts & { total: number } => ({
	send: 0,
	open: 0,
	click: 0,
	bounce: 0,
	total: 0,
});

const TABLE_SETTING: Record<EmailEventType, string> = {
	send: 'Email Send Table',
	open: 'Email Open Table',
	click: 'Email URL Click Table',
	bounce: 'Email Bounce Table',
};

const COLUMN_SETTING: Record<string, string> = {
	eventId: 'Event ID Column',
	subject: 'Subject Column',
	campaignName: 'Campaign Name Column',
	deliveryName: 'Delivery Name Column',
	date: 'Event Date Column',
	mirrorPageUrl: 'Mirror Page URL Column',
	clickedUrl: 'Clicked URL Column',
};

export function readSettings(ctx: IExecuteFunctions): ExportSettings {
	// extractValue: the tables are resource locators (plain strings in older workflows).
	const text = (name: string, fallback: string) =>
		String(ctx.getNodeParameter(name, 0, fallback, { extractValue: true }) ?? fallback).trim();
	const columns = ctx.getNodeParameter('activityColumns', 0, {}) as IDataObject;
	const options = ctx.getNodeParameter('options', 0, {}) as IDataObject;
	const column = (name: string, fallback: string) => {
		const v = columns[name];
		return typeof v === 'string' && v.trim() ? v.trim() : fallback;
	};
	// Out-of-range numbers only get here through imported or API-made workflows (the editor
	// enforces the bounds); say so instead of silently using another value.
	const whole = (v: unknown, fallback: number, max: number, setting: string) => {
		if (v === undefined || v === null || v === '') return fallback;
		const n = Number(v);
		if (!Number.isInteger(n) || n < 1 || n > max) {
			throw new NodeOperationError(
				ctx.getNode(),
				`Options › ${setting} is ${describeValue(v)}: it must be a whole number from 1 to ${max.toLocaleString('en-US')}`,
				{
					description: `Set "${setting}" to a number in that range, or remove the option to use ${fallback}.`,
				},
			);
		}
		return n;
	};
	const types = {
		sends: ctx.getNodeParameter('sends', 0, true) as boolean,
		opens: ctx.getNodeParameter('opens', 0, true) as boolean,
		clicks: ctx.getNodeParameter('clicks', 0, true) as boolean,
		bounces: ctx.getNodeParameter('bounces', 0, true) as boolean,
	};
	return {
		source: text('source', 'campaign') === 'input' ? 'input' : 'campaign',
		types,
		tables: {
			send: text('sendTable', 'adobe_emailsend'),
			open: text('openTable', 'adobe_emailopen'),
			click: text('clickTable', 'adobe_emailclick'),
			bounce: text('bounceTable', 'adobe_emailbounce'),
		},
		columns: {
			eventId: column('eventId', 'adobe_eventid'),
			subject: column('subject', 'subject'),
			campaignName: column('campaignName', 'adobe_campaignname'),
			deliveryName: column('deliveryName', 'adobe_deliveryname'),
			date: column('date', 'adobe_eventdate'),
			mirrorPageUrl: column('mirrorPageUrl', 'adobe_mirrorpageurl'),
			clickedUrl: column('clickedUrl', 'adobe_clickedurl'),
		},
		createFollowUpTasks: ctx.getNodeParameter('createFollowUpTasks', 0, false) as boolean,
		batchSize: whole(options.batchSize, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, 'Batch Size'),
		maxEventsPerRun: whole(
			options.maxEventsPerRun,
			5000,
			Number.MAX_SAFE_INTEGER,
			'Max Events per Run',
		),
		pageSize: whole(options.pageSize, 100, 1000, 'Page Size'),
		eventResource:
			typeof options.eventResource === 'string' && options.eventResource.trim()
				? options.eventResource.trim()
				: 'cusEmailEvent',
	};
}

/** A Campaign event record or input item as `validateEvent` reads it (the profile link → PKey). */
function normalizeRaw(raw: unknown): unknown {
	if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
	const r = raw as Record<string, unknown>;
	if (r.profilePKey === undefined && r.profile && typeof r.profile === 'object') {
		const pkey = (r.profile as Record<string, unknown>).PKey;
		if (typeof pkey === 'string' && pkey) return { ...r, profilePKey: pkey };
	}
	return r;
}

function eventIdOf(raw: unknown): string | undefined {
	if (!raw || typeof raw !== 'object') return undefined;
	const id = (raw as Record<string, unknown>).eventId;
	return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/** The follow-up task's id, derived from the event id so a re-run updates the same task. */
export function followUpTaskId(eventId: string): string {
	const h = createHash('sha256').update(`email-event-follow-up:${eventId}`).digest('hex');
	const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface Sourced {
	raw: unknown;
	itemIndex: number;
	order: number;
}

interface Outcome {
	order: number;
	itemIndex: number;
	json: IDataObject;
	failed?: string;
}

interface Pending {
	event: EmailEvent;
	itemIndex: number;
	order: number;
	contactId?: string;
	ownerId?: string;
	activityId?: string;
	taskId?: string;
	error?: string;
}

async function readCampaignEvents(
	campaign: CampaignClient,
	settings: ExportSettings,
	after: EventCheckpoint | undefined,
): Promise<{ records: CampaignRecord[]; checkpoint?: EventCheckpoint }> {
	const records: CampaignRecord[] = [];
	let checkpoint = after;
	const pageSize = Math.min(settings.pageSize, settings.maxEventsPerRun);
	for await (const page of campaign.readEvents({
		after,
		pageSize,
		resource: settings.eventResource,
	})) {
		const room = settings.maxEventsPerRun - records.length;
		const taken = page.events.slice(0, room);
		records.push(...taken);
		const last = taken[taken.length - 1];
		// The checkpoint of the last event taken, not of the page: a cut page resumes mid-page.
		if (last)
			checkpoint = { lastModified: String(last.lastModified), eventId: String(last.eventId) };
		if (records.length >= settings.maxEventsPerRun) break;
	}
	const result: { records: CampaignRecord[]; checkpoint?: EventCheckpoint } = { records };
	if (checkpoint) result.checkpoint = checkpoint;
	return result;
}

/** Checks once per run that each enabled table has an alternate key on the event id column. */
async function checkTargets(
	ctx: IExecuteFunctions,
	dataverse: DataverseClient,
	settings: ExportSettings,
	enabled: ReadonlySet<EmailEventType>,
): Promise<void> {
	for (const type of enabled) {
		const table = settings.tables[type];
		if (!table) {
			throw new NodeOperationError(ctx.getNode(), `The "${TABLE_SETTING[type]}" setting is empty`, {
				description: `Choose the Dynamics 365 activity table that receives ${type} events, or switch that event type off.`,
			});
		}
		const info = await dataverse.getTable(table);
		const keyed = (info.alternateKeys ?? []).some(
			(k) => k.columns.length === 1 && k.columns[0] === settings.columns.eventId,
		);
		if (!keyed) {
			throw new NodeOperationError(
				ctx.getNode(),
				`The Dynamics 365 table "${table}" has no alternate key on the column "${settings.columns.eventId}"`,
				{
					description: `Setting "${TABLE_SETTING[type]}": events are upserted by their event id, so that a re-run never creates a second activity. Add an alternate key on "${settings.columns.eventId}" to the table in Dynamics 365, or set "Activity Columns › Event ID" to the keyed column.`,
				},
			);
		}
		const known = new Set(
			(await dataverse.getColumns(table)).filter((c) => c.readable).map((c) => c.logicalName),
		);
		for (const [name, column] of Object.entries(settings.columns)) {
			if (!column || known.has(column)) continue;
			if (name === 'clickedUrl' && type !== 'click') continue;
			throw new NodeOperationError(
				ctx.getNode(),
				`Activity Columns › ${COLUMN_SETTING[name] ?? name}: the table "${table}" has no column "${column}"`,
				{
					description: `Setting "${TABLE_SETTING[type]}": choose a column of that table, or clear the setting to use the default.`,
				},
			);
		}
	}
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
			const table = row[`_ownerid_value@${LOOKUP_LOGICAL_NAME}`];
			found.set(
				String(row.contactid).toLowerCase(),
				typeof owner === 'string'
					? { id: owner, ...(typeof table === 'string' ? { table } : {}) }
					: undefined,
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

export async function exportEmailEvents(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const settings = readSettings(this);
	const enabled = eventTypesEnabled(settings.types);
	const summary: ExportSummary = {
		eventsRead: 0,
		exported: zero(),
		skipped: zero(),
		failed: 0,
		followUpTasks: 0,
	};
	if (!enabled.size) {
		// The spec lets every type be off: a quiet run that reads nothing and keeps the checkpoint.
		summary.notice =
			'Sends, Opens, Clicks and Bounces are all set to No: no event was read or exported.';
		return [
			[{ json: { [SUMMARY_KEY]: summary as unknown as IDataObject }, pairedItem: { item: 0 } }],
		];
	}
	const outcomes: Outcome[] = [];
	const fail = (s: { itemIndex: number; order: number }, json: IDataObject, reason: string) => {
		summary.failed++;
		outcomes.push({
			order: s.order,
			itemIndex: s.itemIndex,
			// Only `error`, `message` and `details` keys: n8n routes such items to the error output.
			json: { error: reason, details: { ...json, status: 'failed' } },
			failed: reason,
		});
	};

	let campaign: CampaignClient | undefined;
	const getCampaign = async () => (campaign ??= await campaignClient(this));

	try {
		const dataverse = await dataverseClient(this);
		await checkTargets(this, dataverse, settings, enabled);

		// 1. The events: Campaign's records after the checkpoint, or the input items.
		const staticData = this.getWorkflowStaticData('node');
		const state = readExportState(staticData, settings.eventResource);
		let sourced: Sourced[];
		let nextCheckpoint: EventCheckpoint | undefined;
		if (settings.source === 'campaign') {
			const read = await readCampaignEvents(await getCampaign(), settings, state.checkpoint);
			sourced = read.records.map((raw, order) => ({ raw, itemIndex: 0, order }));
			nextCheckpoint = read.checkpoint;
		} else {
			sourced = this.getInputData().map((item, i) => ({ raw: item.json, itemIndex: i, order: i }));
		}
		summary.eventsRead = sourced.length;

		// 2. Check each event and keep the selected types.
		const pending: Pending[] = [];
		for (const s of sourced) {
			const checked = validateEvent(normalizeRaw(s.raw));
			if (!checked.ok) {
				fail(s, { eventId: eventIdOf(s.raw) ?? null }, checked.reason);
				continue;
			}
			if (!enabled.has(checked.event.type)) {
				summary.skipped[checked.event.type]++;
				summary.skipped.total++;
				continue;
			}
			pending.push({ event: checked.event, itemIndex: s.itemIndex, order: s.order });
		}

		// 3. The contact id: the profile's externalId, read from Campaign when only its PKey is known.
		const profiles = new Map<string, CampaignRecord | undefined>();
		const resolved: Pending[] = [];
		for (const p of pending) {
			const base = { eventId: p.event.eventId, type: p.event.type };
			let externalId = p.event.profileExternalId;
			if (!externalId && p.event.profilePKey) {
				const pkey = p.event.profilePKey;
				if (!profiles.has(pkey)) {
					const client = await getCampaign();
					profiles.set(pkey, await client.get(client.recordHref(PROFILE_RESOURCE, pkey)));
				}
				const profile = profiles.get(pkey);
				if (!profile) {
					fail(p, base, `Event ${p.event.eventId}: Campaign has no profile with PKey ${pkey}`);
					continue;
				}
				externalId = typeof profile.externalId === 'string' ? profile.externalId : undefined;
				if (!externalId) {
					fail(
						p,
						base,
						`Event ${p.event.eventId}: the profile ${pkey} has no externalId, so it has no Dynamics 365 contact`,
					);
					continue;
				}
			}
			if (!externalId || !GUID.test(externalId)) {
				fail(
					p,
					base,
					`Event ${p.event.eventId}: the profile's externalId ${describeValue(externalId ?? '')} is not a Dynamics 365 contact id (a GUID)`,
				);
				continue;
			}
			p.contactId = externalId.toLowerCase();
			resolved.push(p);
		}

		// 4. Per batch: which contacts exist (one lookup), then the writes in one `$batch`.
		const entitySets = new Map<string, string>();
		for (const type of enabled) {
			entitySets.set(type, (await dataverse.getTable(settings.tables[type])).entitySetName);
		}
		// Contacts are looked up for many events at once; the writes go in batches of Batch Size.
		const groupSize = Math.max(settings.batchSize, IDS_PER_LOOKUP);
		for (let start = 0; start < resolved.length; start += groupSize) {
			const group = resolved.slice(start, start + groupSize);
			const contacts = await lookUpContacts(
				dataverse,
				group.map((p) => p.contactId!),
				settings.createFollowUpTasks,
			);
			const ops: Array<{ op: BatchWrite; pending: Pending; kind: 'activity' | 'task' }> = [];
			for (const p of group) {
				if (!contacts.has(p.contactId!)) {
					p.error = `Event ${p.event.eventId}: no Dynamics 365 contact has the id ${p.contactId} (the profile's externalId)`;
					continue;
				}
				const table = settings.tables[p.event.type];
				const activity = toActivity(p.event, p.contactId!, {
					entitySet: entitySets.get(p.event.type)!,
					regardingNavigation: `regardingobjectid_contact_${table}`,
					columns: settings.columns,
				});
				ops.push({
					pending: p,
					kind: 'activity',
					op: {
						upsert: {
							table,
							key: { [activity.alternateKey.column]: activity.alternateKey.value },
							data: activity.row,
						},
					},
				});
				if (
					settings.createFollowUpTasks &&
					(p.event.type === 'click' || p.event.type === 'bounce')
				) {
					const owner = contacts.get(p.contactId!);
					p.taskId = followUpTaskId(p.event.eventId);
					ops.push({
						pending: p,
						kind: 'task',
						op: {
							method: 'PATCH',
							url: await dataverse.batchUrl('task', p.taskId),
							body: followUpTask(
								p.event,
								await dataverse.bind('regardingobjectid_contact_task', 'contact', p.contactId!),
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
				const results = answers[n];
				slice.forEach((o, k) => {
					const r = results[k];
					const p = o.pending;
					if (r && r.outcome === 'succeeded') {
						if (o.kind === 'activity') p.activityId = idFromEntityUrl(r.headers['odata-entityid']);
						else summary.followUpTasks++;
						return;
					}
					const reason = r?.error
						? `${r.error.code ? `${r.error.code} ` : ''}${r.error.message}`
						: `not executed (status ${r?.status ?? 0})`;
					const what =
						o.kind === 'activity'
							? `Dynamics 365 refused the ${settings.tables[p.event.type]} activity`
							: 'the activity was written, but Dynamics 365 refused the follow-up task';
					p.error ??= `Event ${p.event.eventId}: ${what}: ${reason}`;
				});
			});
		}

		for (const p of resolved) {
			const json: IDataObject = {
				eventId: p.event.eventId,
				type: p.event.type,
				contactId: p.contactId!,
				table: settings.tables[p.event.type],
			};
			if (p.error) {
				fail(p, json, p.error);
				continue;
			}
			summary.exported[p.event.type]++;
			summary.exported.total++;
			if (p.activityId) json.activityId = p.activityId;
			if (p.taskId) json.followUpTaskId = p.taskId;
			outcomes.push({
				order: p.order,
				itemIndex: p.itemIndex,
				json: { ...json, status: 'exported' },
			});
		}

		// 5. Every event read was handled (exported, skipped, or failed and reported): move on.
		if (settings.source === 'campaign' && nextCheckpoint) {
			writeExportState(staticData, { ...state, checkpoint: nextCheckpoint });
		}
	} catch (error) {
		// Nothing was advanced: the next run reads the same events again (writes are upserts).
		throw toNodeError(this.getNode(), error);
	}

	outcomes.sort((a, b) => a.order - b.order);
	const failures = outcomes.filter((o) => o.failed);
	if (failures.length && !this.continueOnFail()) {
		const listed = failures.slice(0, 20).map((f) => `- ${f.failed}`);
		if (failures.length > 20) listed.push(`- … and ${failures.length - 20} more`);
		throw new NodeOperationError(
			this.getNode(),
			`${failures.length} of ${summary.eventsRead} email events could not be exported`,
			{
				description: `${listed.join('\n')}\nThe other events were written. To route failed events to a separate output instead, set the node's "On Error" setting to "Continue (using error output)".`,
			},
		);
	}
	const items: INodeExecutionData[] = outcomes.map((o) => ({
		json: o.json,
		pairedItem: { item: o.itemIndex },
	}));
	items.push({
		json: { [SUMMARY_KEY]: summary as unknown as IDataObject },
		pairedItem: { item: 0 },
	});
	return [items];
}
