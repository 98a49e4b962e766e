/**
 * Email events from Campaign (send, open, click, bounce) shaped into Dynamics timeline activities.
 * The event id goes into an alternate-key column so that writing one event twice is an upsert of
 * the same activity, never a second one.
 */
import { describeValue } from './errors';
import { parseInstant } from './values';

export type EmailEventType = 'send' | 'open' | 'click' | 'bounce';
export const EMAIL_EVENT_TYPES: readonly EmailEventType[] = ['send', 'open', 'click', 'bounce'];

export interface EmailEvent {
	eventId: string;
	type: EmailEventType;
	/** The profile's externalId, i.e. the Dynamics contactid. */
	profileExternalId?: string;
	profilePKey?: string;
	campaignName: string;
	deliveryName: string;
	campaignId?: string;
	deliveryId?: string;
	/** ISO 8601, normalised to UTC. */
	date: string;
	mirrorPageUrl?: string;
	/** Clicks only. */
	clickedUrl?: string;
}

export type EventValidation = { ok: true; event: EmailEvent } | { ok: false; reason: string };

const TYPE_ALIASES: Record<string, EmailEventType> = {
	send: 'send',
	sent: 'send',
	open: 'open',
	opened: 'open',
	click: 'click',
	clicked: 'click',
	bounce: 'bounce',
	bounced: 'bounce',
};

const optionalText = (raw: Record<string, unknown>, field: string): string | undefined | Error => {
	const v = raw[field];
	if (v === undefined || v === null || v === '') return undefined;
	if (typeof v === 'string') return v;
	if (typeof v === 'number') return String(v);
	return new Error(`"${field}" must be text, got ${describeValue(v)}`);
};

/** Longest event id accepted: the length of the event id column of the activity tables. */
export const EVENT_ID_MAX = 100;

/** Checks a raw event (a Campaign event record or a webhook payload) and says what is wrong. */
export function validateEvent(raw: unknown): EventValidation {
	if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
		return { ok: false, reason: `an email event must be an object, got ${describeValue(raw)}` };
	}
	const r = raw as Record<string, unknown>;
	const text: Record<string, string | undefined> = {};
	const fields = [
		'eventId',
		'profileExternalId',
		'profilePKey',
		'campaignName',
		'deliveryName',
		'campaignId',
		'deliveryId',
		'mirrorPageUrl',
		'clickedUrl',
	];
	for (const f of fields) {
		const v = optionalText(r, f);
		if (v instanceof Error) return { ok: false, reason: v.message };
		text[f] = v;
	}
	const id = text.eventId;
	if (id && id.length > EVENT_ID_MAX) {
		// No activity could be keyed by it, and the id would flood every message that names it.
		return {
			ok: false,
			reason: `email event: "eventId" is ${describeValue(id)} (${id.length} characters); at most ${EVENT_ID_MAX} are allowed`,
		};
	}
	const which = id ? `event ${id}` : 'email event';
	const missing = (f: string) => ({ ok: false as const, reason: `${which}: "${f}" is missing` });
	if (!id) {
		// A webhook's whole request (n8n's Webhook node puts the payload under "body") or a list.
		for (const wrapper of ['body', 'data', 'event', 'events']) {
			const inner = r[wrapper];
			const first = Array.isArray(inner) ? inner[0] : inner;
			if (first && typeof first === 'object' && 'eventId' in (first as object)) {
				return {
					ok: false,
					reason: `email event: "eventId" is missing; the event seems to be under "${wrapper}"${Array.isArray(inner) ? ' (a list)' : ''}: pass {{ $json.${wrapper} }} as the event${Array.isArray(inner) ? ', one item per event (Split Out)' : ''}`,
				};
			}
		}
		return missing('eventId');
	}
	const type = typeof r.type === 'string' ? TYPE_ALIASES[r.type.trim().toLowerCase()] : undefined;
	if (!type) {
		return {
			ok: false,
			reason: `${which}: "type" is ${describeValue(r.type)}; expected one of ${EMAIL_EVENT_TYPES.join(', ')}`,
		};
	}
	if (!text.profileExternalId && !text.profilePKey) {
		return {
			ok: false,
			reason: `${which}: neither "profileExternalId" nor "profilePKey" is given`,
		};
	}
	if (!text.campaignName) return missing('campaignName');
	if (!text.deliveryName) return missing('deliveryName');
	if (r.date === undefined || r.date === null || r.date === '') return missing('date');
	const t = parseInstant(r.date);
	if (t === undefined) {
		return {
			ok: false,
			reason: `${which}: "date" is ${describeValue(r.date)}, not an ISO date-time`,
		};
	}
	if (type === 'click' && !text.clickedUrl) return missing('clickedUrl');
	const event: EmailEvent = {
		eventId: id,
		type,
		campaignName: text.campaignName,
		deliveryName: text.deliveryName,
		date: new Date(t).toISOString(),
	};
	for (const f of [
		'profileExternalId',
		'profilePKey',
		'campaignId',
		'deliveryId',
		'mirrorPageUrl',
	] as const) {
		if (text[f]) event[f] = text[f];
	}
	if (type === 'click') event.clickedUrl = text.clickedUrl;
	return { ok: true, event };
}

/** The node's four Yes/No settings as the set of event types to export. */
export function eventTypesEnabled(settings: {
	sends: boolean;
	opens: boolean;
	clicks: boolean;
	bounces: boolean;
}): ReadonlySet<EmailEventType> {
	const types = new Set<EmailEventType>();
	if (settings.sends) types.add('send');
	if (settings.opens) types.add('open');
	if (settings.clicks) types.add('click');
	if (settings.bounces) types.add('bounce');
	return types;
}

/** Column logical names of one activity table. Optional columns are left out when not set. */
export interface ActivityColumns {
	/** The alternate-key column holding the Campaign event id. */
	eventId: string;
	subject?: string;
	campaignName?: string;
	deliveryName?: string;
	date?: string;
	mirrorPageUrl?: string;
	clickedUrl?: string;
}

export interface ActivityTarget {
	/** Entity set of the activity table, e.g. `new_emailopens`. */
	entitySet: string;
	/** Navigation property binding the contact; default `regardingobjectid_contact`. */
	regardingNavigation?: string;
	columns: ActivityColumns;
}

export interface ActivityRow {
	entitySet: string;
	/** For the upsert by alternate key: `PATCH /{entitySet}({column}='{value}')`. */
	alternateKey: { column: string; value: string };
	row: Record<string, unknown>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SUBJECT_MAX = 200;

/** Subject as Adobe's integration writes it: the campaign and delivery ids (names when absent). */
export function activitySubject(event: EmailEvent): string {
	const subject = `${event.campaignId ?? event.campaignName} - ${event.deliveryId ?? event.deliveryName}`;
	return subject.length > SUBJECT_MAX ? subject.slice(0, SUBJECT_MAX) : subject;
}

export function toActivity(
	event: EmailEvent,
	contactId: string,
	target: ActivityTarget,
): ActivityRow {
	if (!GUID.test(contactId)) {
		throw new Error(
			`Email event ${event.eventId}: contact id ${describeValue(contactId)} is not a GUID.`,
		);
	}
	const c = target.columns;
	const row: Record<string, unknown> = {
		[c.subject ?? 'subject']: activitySubject(event),
		[c.eventId]: event.eventId,
		[`${target.regardingNavigation ?? 'regardingobjectid_contact'}@odata.bind`]: `/contacts(${contactId.toLowerCase()})`,
	};
	if (c.campaignName) row[c.campaignName] = event.campaignName;
	if (c.deliveryName) row[c.deliveryName] = event.deliveryName;
	if (c.date) row[c.date] = event.date;
	if (c.mirrorPageUrl && event.mirrorPageUrl) row[c.mirrorPageUrl] = event.mirrorPageUrl;
	if (c.clickedUrl && event.type === 'click' && event.clickedUrl)
		row[c.clickedUrl] = event.clickedUrl;
	return {
		entitySet: target.entitySet,
		alternateKey: { column: c.eventId, value: event.eventId },
		row,
	};
}
