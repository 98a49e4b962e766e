/**
 * The Email Events Export's settings, read once per run. Every name the node depends on is a
 * setting whose default is the setup of docs/CAMPAIGN-SETUP.md.
 */
import {
	DEFAULT_EVENT_FIELDS,
	type ActivityColumns,
	type EmailEventType,
	type EventFields,
} from '../../sync/events';
import { wholeNumberSetting } from '../settings';

/** Where the events come from: Campaign's event resource, or the node's input items. */
export type ExportSource = 'campaign' | 'input';

/** Dataverse's limit of operations in one `$batch`. */
const MAX_BATCH_SIZE = 1000;
/**
 * Microsoft advises small batches ("start with a small batch size of 10", api-limits.md, "Avoid
 * large batches"): a large batch runs long and meets the execution-time limit sooner.
 */
const DEFAULT_BATCH_SIZE = 10;
const DEFAULT_PAGE_SIZE = 100;
const DEFAULT_MAX_EVENTS = 5000;
/** Failed events kept to retry on later runs; past it the checkpoint waits before a failure. */
const DEFAULT_MAX_FAILED_KEPT = 1000;
/** The bounds the editor sets on Page Size and Failed Events Kept. */
const MAX_PAGE_SIZE = 1000;
const MAX_FAILED_KEPT = 100_000;

/** The Campaign side as docs/CAMPAIGN-SETUP.md sets it up. */
export const CAMPAIGN_EVENT_DEFAULTS = {
	resource: 'cusEmailEvent',
	filter: 'byModifiedSince',
	parameter: '',
	dateField: 'lastModified',
	eventKeyFilter: '',
};

/** The contact → profile mapping of the Dynamics 365 → Campaign template: contactid → externalId. */
export const DEFAULT_PROFILE_KEY = 'externalId';

export const DEFAULT_TABLES: Record<EmailEventType, string> = {
	send: 'adobe_emailsend',
	open: 'adobe_emailopen',
	click: 'adobe_emailclick',
	bounce: 'adobe_emailbounce',
};

export const DEFAULT_ACTIVITY_COLUMNS: Required<ActivityColumns> = {
	eventId: 'adobe_eventid',
	subject: 'subject',
	campaignName: 'adobe_campaignname',
	deliveryName: 'adobe_deliveryname',
	date: 'adobe_eventdate',
	mirrorPageUrl: 'adobe_mirrorpageurl',
	clickedUrl: 'adobe_clickedurl',
};

export interface ExportSettings {
	source: ExportSource;
	types: { sends: boolean; opens: boolean; clicks: boolean; bounces: boolean };
	tables: Record<EmailEventType, string>;
	columns: ActivityColumns;
	createMissingTables: boolean;
	createFollowUpTasks: boolean;
	batchSize: number;
	maxEventsPerRun: number;
	pageSize: number;
	maxFailedKept: number;
	campaign: typeof CAMPAIGN_EVENT_DEFAULTS;
	fields: EventFields;
	/** The profile field holding the Dynamics contactid, and the filter that finds profiles by it. */
	profileKey: string;
	profileKeyFilter: string;
}

export const TABLE_SETTING: Record<EmailEventType, string> = {
	send: 'Email Send Table',
	open: 'Email Open Table',
	click: 'Email URL Click Table',
	bounce: 'Email Bounce Table',
};

export const COLUMN_SETTING: Record<keyof ActivityColumns, string> = {
	eventId: 'Event ID Column',
	subject: 'Subject Column',
	campaignName: 'Campaign Name Column',
	deliveryName: 'Delivery Name Column',
	date: 'Event Date Column',
	mirrorPageUrl: 'Mirror Page URL Column',
	clickedUrl: 'Clicked URL Column',
};

/**
 * A node parameter's value, or `fallback` when it is not set; `extractValue` gives a resource
 * locator's value (n8n's `getNodeParameter` with `{ extractValue: true }`).
 */
export type ParameterGetter = (name: string, fallback: unknown, extractValue?: boolean) => unknown;

type Values = Record<string, unknown>;

export function readSettings(parameter: ParameterGetter): ExportSettings {
	const text = (name: string, fallback: string) =>
		// extractValue: the tables are resource locators (plain strings in older workflows).
		String(parameter(name, fallback, true) ?? fallback).trim();
	const collection = (name: string) => (parameter(name, {}) ?? {}) as Values;
	const pick = <T extends Record<string, string>>(values: Values, defaults: T): T => {
		const out = { ...defaults };
		for (const key of Object.keys(defaults) as Array<keyof T>) {
			const v = values[key as string];
			if (typeof v === 'string' && v.trim()) out[key] = v.trim() as T[keyof T];
		}
		return out;
	};
	const options = collection('options');
	const campaignEvents = collection('campaignEvents');
	// Earlier versions of the node had the resource under Options.
	if (!campaignEvents.eventResource && typeof options.eventResource === 'string') {
		campaignEvents.eventResource = options.eventResource;
	}
	const campaign = pick(
		{
			resource: campaignEvents.eventResource,
			filter: campaignEvents.modifiedSinceFilter,
			parameter: campaignEvents.filterParameter,
			dateField: campaignEvents.dateField,
			eventKeyFilter: campaignEvents.eventKeyFilter,
		},
		CAMPAIGN_EVENT_DEFAULTS,
	);
	return {
		source: text('source', 'campaign') === 'input' ? 'input' : 'campaign',
		types: {
			sends: parameter('sends', true) as boolean,
			opens: parameter('opens', true) as boolean,
			clicks: parameter('clicks', true) as boolean,
			bounces: parameter('bounces', true) as boolean,
		},
		tables: {
			send: text('sendTable', DEFAULT_TABLES.send),
			open: text('openTable', DEFAULT_TABLES.open),
			click: text('clickTable', DEFAULT_TABLES.click),
			bounce: text('bounceTable', DEFAULT_TABLES.bounce),
		},
		columns: pick(collection('activityColumns'), DEFAULT_ACTIVITY_COLUMNS),
		createMissingTables: parameter('createMissingTables', false) as boolean,
		createFollowUpTasks: parameter('createFollowUpTasks', false) as boolean,
		batchSize: wholeNumberSetting('Options › Batch Size', options.batchSize, {
			fallback: DEFAULT_BATCH_SIZE,
			max: MAX_BATCH_SIZE,
		}),
		maxEventsPerRun: wholeNumberSetting('Options › Max Events per Run', options.maxEventsPerRun, {
			fallback: DEFAULT_MAX_EVENTS,
		}),
		pageSize: wholeNumberSetting('Options › Page Size', options.pageSize, {
			fallback: DEFAULT_PAGE_SIZE,
			max: MAX_PAGE_SIZE,
		}),
		maxFailedKept: wholeNumberSetting('Options › Failed Events Kept', options.maxFailedKept, {
			fallback: DEFAULT_MAX_FAILED_KEPT,
			max: MAX_FAILED_KEPT,
		}),
		campaign,
		fields: pick(
			collection('eventFields'),
			DEFAULT_EVENT_FIELDS as unknown as Record<string, string>,
		) as unknown as EventFields,
		profileKey: text('profileKey', DEFAULT_PROFILE_KEY) || DEFAULT_PROFILE_KEY,
		profileKeyFilter: text('profileKeyFilter', ''),
	};
}
