/**
 * Reading email event records from the custom resource a Campaign administrator sets up for the
 * integration (docs/CAMPAIGN-SETUP.md).
 *
 * Adobe's REST API pages through no delivery or tracking logs: its resources are profiles,
 * services, custom resources, and a profile's marketing history read one profile at a time
 * (CS help/api/using/*.md, interacting-with-marketing-history.md). A Campaign workflow copies the
 * events into a custom resource, and the API reads that through a custom filter, which a filter
 * definition can give one rule with one parameter: here "modification date greater than or equal
 * to" (CS help/developing/using/configuring-filter-definition.md; custom filters under
 * `profileAndServicesExt`, CS help/api/using/filtering.md). So a reader asks for the events
 * modified at or after its checkpoint, ordered by that date (`_order`, CS sorting.md), paging
 * with `_forcePagination=true` (CS pagination.md: big tables answer without `next` otherwise).
 * Events sharing the checkpoint's date come again; the caller skips those it has handled.
 */
import { CampaignApiError, type CampaignClient, type CampaignRecord } from './client';
import type { CampaignFilterInfo, CampaignResourceType } from './metadata';

/** The date a first read starts from: before any event. */
export const BEGINNING = '1970-01-01 00:00:00.000Z';

export interface EventSourceSettings {
	/** The custom resource, e.g. `cusEmailEvent` (under `profileAndServicesExt`). */
	resource: string;
	/** The modified-since filter: its name or its path segment. */
	filter: string;
	/** Its parameter; empty: the filter's one parameter, read from its metadata. */
	parameter?: string;
	/** The modification date the filter tests and the reader orders by (`lastModified`). */
	dateField: string;
	/** Fields the resource must have, by the setting that names them. */
	fields?: Record<string, string>;
}

export interface EventSource {
	/** `profileAndServicesExt/<resource>`. */
	path: string;
	type: CampaignResourceType;
	filter: CampaignFilterInfo;
	parameter: string;
	dateField: string;
}

const SETUP = 'docs/CAMPAIGN-SETUP.md';

function isResourceType(value: unknown): value is CampaignResourceType {
	return (
		!!value && typeof value === 'object' && Array.isArray((value as CampaignResourceType).fields)
	);
}

function describe(filter: CampaignFilterInfo): string {
	return `${filter.name} (?${filter.parameters.join('&')})`;
}

/** Checks the event resource, its date field and its modified-since filter against Campaign. */
export async function resolveEventSource(
	client: CampaignClient,
	settings: EventSourceSettings,
): Promise<EventSource> {
	const path = `profileAndServicesExt/${settings.resource}`;
	const type = await client.resourceType(path).then(
		(t) => t,
		(error: unknown) => error,
	);
	if (type instanceof CampaignApiError && type.status === 404) {
		throw new Error(
			`Campaign has no resource "${settings.resource}" under profileAndServicesExt: create the email event resource, link it to the profile and publish it with the Profiles & Services Ext API (${SETUP}), or set Campaign Events › Event Resource to yours`,
		);
	}
	if (!isResourceType(type)) throw type;
	const known = new Set(type.fields.map((f) => f.name));
	const wanted: Record<string, string> = {
		'Modification Date Field': settings.dateField,
		...settings.fields,
	};
	const missing = Object.entries(wanted).filter(([, field]) => field && !known.has(field));
	if (missing.length) {
		throw new Error(
			`The Campaign resource "${settings.resource}" has no field ${missing.map(([setting, field]) => `"${field}" (${setting})`).join(', ')}: add ${missing.length > 1 ? 'them' : 'it'} to the resource (${SETUP}; lastModified comes with "Add audit fields"), or set those settings to the resource's fields`,
		);
	}
	const filters = await client.filters(type);
	const filter = filters.find((f) => f.name === settings.filter || f.segment === settings.filter);
	if (!filter) {
		throw new Error(
			`The Campaign resource "${settings.resource}" has no filter "${settings.filter}": define a filter "${settings.dateField} greater than or equal to" a parameter and publish it (${SETUP}), or set Campaign Events › Modified-Since Filter to yours (filters: ${filters.map(describe).join(', ') || 'none'})`,
		);
	}
	let parameter = settings.parameter?.trim();
	if (parameter) {
		if (filter.parameters.length && !filter.parameters.includes(parameter)) {
			throw new Error(
				`The Campaign filter "${filter.name}" has no parameter "${parameter}" (its parameters: ${filter.parameters.join(', ')}): clear Campaign Events › Filter Parameter to use the one Campaign generated`,
			);
		}
	} else {
		if (filter.parameters.length !== 1) {
			throw new Error(
				`The Campaign filter "${filter.name}" takes ${filter.parameters.length} parameters (${filter.parameters.join(', ') || 'none'}); the modified-since filter takes one, the date: set Campaign Events › Filter Parameter`,
			);
		}
		parameter = filter.parameters[0];
	}
	return { path, type, filter, parameter, dateField: settings.dateField };
}

/** Where a reader stands: the modification date it reached and the events it handled at it. */
export interface EventPosition {
	since: string;
	/** Ids of the events modified exactly at `since` that were handled. */
	handled: readonly string[];
}

/**
 * The events after a position, one by one in order of modification date: those modified at or
 * after `since`, less those handled at `since`. Each page is a fresh query from the date the
 * reader reached, so an event updated while the reader pages (it moves to a later date) cannot
 * shift another one out of reach; `next.href` is followed only through events that all share
 * one date, where no fresh query could move on.
 */
export async function* readEventsAfter(
	client: CampaignClient,
	source: EventSource,
	position: EventPosition,
	pageSize: number,
	idOf: (record: CampaignRecord) => string,
): AsyncGenerator<CampaignRecord> {
	let since = position.since;
	let sinceTime = timeOf(since, source);
	let atSince = new Set(position.handled);
	for (;;) {
		const queryStart = sinceTime;
		let yielded = false;
		for await (const page of client.filterPages(
			source.path,
			source.filter,
			{ [source.parameter]: since },
			{ lineCount: pageSize, order: { field: source.dateField } },
		)) {
			for (const record of page.records) {
				const raw = record[source.dateField];
				const time = timeOf(raw, source);
				const id = idOf(record);
				if (time < sinceTime || (time === sinceTime && atSince.has(id))) continue;
				if (time > sinceTime) {
					since = String(raw);
					sinceTime = time;
					atSince = new Set();
				}
				atSince.add(id);
				yielded = true;
				yield record;
			}
			// The reader moved past the date this query started from: ask again from there.
			if (sinceTime > queryStart) break;
		}
		if (!yielded) return;
	}
}

function timeOf(value: unknown, source: EventSource): number {
	const text = typeof value === 'string' ? value.trim().replace(' ', 'T') : '';
	const time = Date.parse(text);
	if (!text || Number.isNaN(time)) {
		throw new Error(
			`Campaign answered ${JSON.stringify(value)} as the "${source.dateField}" of an event of "${source.path.split('/').pop()}": not a date, so events cannot be read in its order. Set Campaign Events › Modification Date Field to a date field`,
		);
	}
	return time;
}
