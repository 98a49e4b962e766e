/**
 * Email events from Campaign (send, open, click, bounce) shaped into Dynamics timeline activities.
 * The event id goes into an alternate-key column so that writing one event twice is an upsert of
 * the same activity, never a second one.
 */
import { describeValue } from './errors';
import { isGuid, parseInstant } from './values';

export type EmailEventType = 'send' | 'open' | 'click' | 'bounce';
export const EMAIL_EVENT_TYPES: readonly EmailEventType[] = ['send', 'open', 'click', 'bounce'];

export interface EmailEvent {
	eventId: string;
	type: EmailEventType;
	/** The profile's Campaign key (the Dynamics contactid), when the event carries it. */
	profileKey?: string;
	/** The profile's href from the answer that carried the event (its link's `href`). */
	profileHref?: string;
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

/**
 * The field names of an event record: those of the resource docs/CAMPAIGN-SETUP.md sets up, or the
 * user's. `profile` is the link to the profile (`{"PKey","href"}` as Campaign answers it);
 * `profileKey` the profile's Campaign key copied into the event.
 */
export interface EventFields {
	eventId: string;
	type: string;
	profile: string;
	profileKey: string;
	campaignId: string;
	campaignName: string;
	deliveryId: string;
	deliveryName: string;
	date: string;
	mirrorPageUrl: string;
	clickedUrl: string;
}

export const DEFAULT_EVENT_FIELDS: EventFields = {
	eventId: 'eventId',
	type: 'type',
	profile: 'profile',
	profileKey: 'profileExternalId',
	campaignId: 'campaignId',
	campaignName: 'campaignName',
	deliveryId: 'deliveryId',
	deliveryName: 'deliveryName',
	date: 'date',
	mirrorPageUrl: 'mirrorPageUrl',
	clickedUrl: 'clickedUrl',
};

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

/** The href of a link value (`{"PKey","href"}`), if it has one. */
function linkHref(value: unknown): string | undefined {
	if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
	const href = (value as Record<string, unknown>).href;
	return typeof href === 'string' && /^https?:\/\//.test(href) ? href : undefined;
}

/**
 * Checks a raw event (a Campaign event record or a webhook payload) read with `fields`, and says
 * what is wrong, naming the event and the field.
 */
export function validateEvent(
	raw: unknown,
	fields: EventFields = DEFAULT_EVENT_FIELDS,
): EventValidation {
	if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
		return { ok: false, reason: `an email event must be an object, got ${describeValue(raw)}` };
	}
	const r = raw as Record<string, unknown>;
	const text: Partial<Record<keyof EventFields, string>> = {};
	const textual: Array<keyof EventFields> = [
		'eventId',
		'profileKey',
		'campaignName',
		'deliveryName',
		'campaignId',
		'deliveryId',
		'mirrorPageUrl',
		'clickedUrl',
	];
	for (const f of textual) {
		const v = optionalText(r, fields[f]);
		if (v instanceof Error) return { ok: false, reason: v.message };
		text[f] = v;
	}
	const id = text.eventId;
	if (id && id.length > EVENT_ID_MAX) {
		// No activity could be keyed by it, and the id would flood every message that names it.
		return {
			ok: false,
			reason: `email event: "${fields.eventId}" is ${describeValue(id)} (${id.length} characters); at most ${EVENT_ID_MAX} are allowed`,
		};
	}
	const which = id ? `event ${id}` : 'email event';
	const missing = (f: keyof EventFields) => ({
		ok: false as const,
		reason: `${which}: "${fields[f]}" is missing`,
	});
	if (!id) {
		// A webhook's whole request (n8n's Webhook node puts the payload under "body") or a list.
		for (const wrapper of ['body', 'data', 'event', 'events']) {
			const inner = r[wrapper];
			const first = Array.isArray(inner) ? inner[0] : inner;
			if (first && typeof first === 'object' && fields.eventId in (first as object)) {
				return {
					ok: false,
					reason: `email event: "${fields.eventId}" is missing; the event seems to be under "${wrapper}"${Array.isArray(inner) ? ' (a list)' : ''}: pass {{ $json.${wrapper} }} as the event${Array.isArray(inner) ? ', one item per event (Split Out)' : ''}`,
				};
			}
		}
		return missing('eventId');
	}
	const rawType = r[fields.type];
	const type = typeof rawType === 'string' ? TYPE_ALIASES[rawType.trim().toLowerCase()] : undefined;
	if (!type) {
		return {
			ok: false,
			reason: `${which}: "${fields.type}" is ${describeValue(rawType)}; expected one of ${EMAIL_EVENT_TYPES.join(', ')}`,
		};
	}
	const profileHref = linkHref(r[fields.profile]);
	if (!text.profileKey && !profileHref) {
		return {
			ok: false,
			reason: `${which}: neither "${fields.profileKey}" nor "${fields.profile}" (a link with its href) is given`,
		};
	}
	if (!text.campaignName) return missing('campaignName');
	if (!text.deliveryName) return missing('deliveryName');
	const rawDate = r[fields.date];
	if (rawDate === undefined || rawDate === null || rawDate === '') return missing('date');
	const t = parseInstant(rawDate);
	if (t === undefined) {
		return {
			ok: false,
			reason: `${which}: "${fields.date}" is ${describeValue(rawDate)}, not an ISO date-time`,
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
	if (text.profileKey) event.profileKey = text.profileKey;
	if (profileHref) event.profileHref = profileHref;
	for (const f of ['campaignId', 'deliveryId', 'mirrorPageUrl'] as const) {
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
	if (!isGuid(contactId)) {
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

/** The kind of column an activity value needs. */
export type ActivityColumnKind = 'text' | 'url' | 'dateTime';

export interface ActivityColumnSpec {
	/** The Activity Columns setting that names it. */
	setting: keyof ActivityColumns;
	column: string;
	kind: ActivityColumnKind;
	displayName: string;
	maxLength?: number;
}

/** One activity table as Adobe's integration shows it, with the columns this package writes. */
export interface ActivityTableSpec {
	type: EmailEventType;
	table: string;
	displayName: string;
	collectionName: string;
	/** The primary name column every activity has (`subject`). */
	subjectMaxLength: number;
	/** The columns written besides subject, regarding and owner (which every activity has). */
	columns: ActivityColumnSpec[];
	/** The alternate-key column: the event id. */
	keyColumn: string;
}

/**
 * Adobe's names for the four activities and their date column (CS
 * help/integrating/using/d365-acs-using-the-integration.md: "Date Sent/Opened/Clicked/Bounced",
 * "Tracking URL" for clicks, "Mirror Page URL").
 */
const ADOBE_ACTIVITIES: Record<EmailEventType, { name: string; date: string }> = {
	send: { name: 'Adobe Campaign Email Send', date: 'Date Sent' },
	open: { name: 'Adobe Campaign Email Open', date: 'Date Opened' },
	click: { name: 'Adobe Campaign Email URL Click', date: 'Date Clicked' },
	bounce: { name: 'Adobe Campaign Email Bounce', date: 'Date Bounced' },
};

/** Longest Campaign campaign and delivery labels (Campaign's default text length, 255). */
const LABEL_MAX = 255;
/** Longest URL kept (Dataverse text columns hold up to 4,000 characters). */
const URL_MAX = 2000;

/** The table an event type is written to, with the columns the settings name. */
export function activityTableSpec(
	type: EmailEventType,
	table: string,
	c: ActivityColumns,
): ActivityTableSpec {
	const adobe = ADOBE_ACTIVITIES[type];
	const columns: ActivityColumnSpec[] = [
		{
			setting: 'eventId',
			column: c.eventId,
			kind: 'text',
			displayName: 'Event ID',
			maxLength: EVENT_ID_MAX,
		},
	];
	const add = (spec: Omit<ActivityColumnSpec, 'column'>) => {
		const column = c[spec.setting];
		if (column && !columns.some((x) => x.column === column)) columns.push({ ...spec, column });
	};
	if (c.subject && c.subject !== 'subject') {
		add({ setting: 'subject', kind: 'text', displayName: 'Subject', maxLength: SUBJECT_MAX });
	}
	add({
		setting: 'campaignName',
		kind: 'text',
		displayName: 'Campaign Name',
		maxLength: LABEL_MAX,
	});
	add({
		setting: 'deliveryName',
		kind: 'text',
		displayName: 'Delivery Name',
		maxLength: LABEL_MAX,
	});
	add({ setting: 'date', kind: 'dateTime', displayName: adobe.date });
	if (type === 'click') {
		add({ setting: 'clickedUrl', kind: 'url', displayName: 'Tracking URL', maxLength: URL_MAX });
	}
	add({
		setting: 'mirrorPageUrl',
		kind: 'url',
		displayName: 'Mirror Page URL',
		maxLength: URL_MAX,
	});
	return {
		type,
		table,
		displayName: adobe.name,
		collectionName: `${adobe.name}s`,
		subjectMaxLength: 400,
		columns,
		keyColumn: c.eventId,
	};
}
