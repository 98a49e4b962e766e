/**
 * Adobe Campaign Standard REST client: resources, `by<Filter>` filters, PKey hrefs, `_lineCount`
 * paging, resource metadata and the email event records read with a checkpoint. It takes a
 * Transport that already authenticates (bearer token and `X-Api-Key`) and retries.
 */
import type { HttpMethod, HttpRequest, HttpResponse, Transport } from '../http/types';

export type CampaignRecord = Record<string, unknown> & { PKey?: string; href?: string };

export interface CampaignClientOptions {
	transport: Transport;
	/** e.g. `https://mc.adobe.io/<organization>/campaign` */
	apiBaseUrl: string;
}

/** `profileAndServices/profile`, `profileAndServicesExt/profile`, `profileAndServicesExt/cusX`. */
export type ResourcePath = string;

export interface ListOptions {
	/** Records per page (`_lineCount`, Campaign's default is 25). */
	lineCount?: number;
	/** Order by a field, e.g. `{ field: 'lastModified', descending: true }`. */
	order?: { field: string; descending?: boolean };
	/** Continue from an earlier page's `next.href`. */
	nextHref?: string;
}

export interface CampaignPage {
	records: CampaignRecord[];
	/** The next page's URL, when there is one. */
	nextHref?: string;
}

export interface CampaignFieldInfo {
	name: string;
	label: string;
	type: string;
	/** Campaign refuses a second record with the same value. */
	unique: boolean;
	readOnly: boolean;
	/** Filters whose only parameter is this field. */
	filters: string[];
	length?: number;
	/** Allowed values of an enumeration. */
	values?: Array<{ value: string; label: string }>;
	/** Resource a link field points to. */
	target?: string;
}

export interface CampaignFilterInfo {
	name: string;
	label: string;
	parameters: Array<{ name: string; type: string }>;
}

export interface CampaignResourceType {
	name: string;
	label: string;
	fields: CampaignFieldInfo[];
	filters: CampaignFilterInfo[];
}

export interface CustomResourceInfo {
	name: string;
	label: string;
	href: string;
}

/** Where an event reader stopped: the last event read, ordered by (lastModified, eventId). */
export interface EventCheckpoint {
	lastModified: string;
	eventId: string;
}

export interface ReadEventsOptions {
	/** Read events after this checkpoint; none = from the beginning. */
	after?: EventCheckpoint;
	pageSize?: number;
	/** The event resource (default `cusEmailEvent`) and its checkpoint filter. */
	resource?: string;
	filter?: string;
}

export interface EventPage {
	events: CampaignRecord[];
	/** The checkpoint after this page (unchanged when the page is empty). */
	checkpoint?: EventCheckpoint;
}

export const DEFAULT_EVENT_RESOURCE = 'cusEmailEvent';
export const DEFAULT_EVENT_FILTER = 'byLastModifiedAfter';
/** The lower bound used when reading events from the beginning. */
const BEGINNING = '1970-01-01T00:00:00.000Z';

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const API = /^(profileAndServices|profileAndServicesExt|customResources)$/;
const FILTER = /^by[A-Z][A-Za-z0-9_]*$/;

export class CampaignApiError extends Error {
	/**
	 * @param route method and path below the API base without query string, e.g.
	 *   `PATCH profileAndServicesExt/profile/@abc`
	 */
	constructor(
		readonly status: number,
		readonly code: string,
		readonly serviceMessage: string,
		readonly route: string,
	) {
		super(`Campaign ${route} failed with ${status}${code ? ` ${code}` : ''}: ${serviceMessage}`);
		this.name = 'CampaignApiError';
	}
}

/**
 * Reads both error shapes: the Adobe I/O gateway's `{"error_code","message"}` and Campaign's
 * `{"code":<status>,"message":"RST-360011 …"}` (the RST code is taken from the message).
 */
export function readCampaignError(
	body: unknown,
	status: number,
): { code: string; message: string } {
	if (body && typeof body === 'object') {
		const b = body as Record<string, unknown>;
		const nested =
			b.error && typeof b.error === 'object' ? (b.error as Record<string, unknown>) : undefined;
		const message = String(
			b.message ?? nested?.message ?? b.error_description ?? b.title ?? `HTTP ${status}`,
		);
		const rst = /^(RST-\d+|XTK-\d+|SQL-\d+)\b/.exec(message);
		const code =
			b.error_code !== undefined
				? String(b.error_code)
				: rst
					? rst[1]
					: nested?.code !== undefined
						? String(nested.code)
						: typeof b.error === 'string'
							? b.error
							: b.code !== undefined
								? String(b.code)
								: '';
		return { code, message };
	}
	if (typeof body === 'string' && body.trim())
		return { code: '', message: body.trim().slice(0, 500) };
	return { code: '', message: `HTTP ${status}` };
}

/** Checks `api/resource` and returns its two parts. */
export function parseResourcePath(resource: ResourcePath): { api: string; name: string } {
	const [api, name, ...rest] = String(resource).split('/');
	if (!API.test(api ?? '') || !NAME.test(name ?? '') || rest.length) {
		throw new Error(
			`Invalid Campaign resource ${JSON.stringify(resource)}: expected e.g. "profileAndServicesExt/profile"`,
		);
	}
	return { api, name };
}

/** A query string from name/value pairs (spaces as %20). */
export function campaignQuery(params: Record<string, string | number | undefined>): string {
	const parts = Object.entries(params)
		.filter(([, v]) => v !== undefined)
		.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
	return parts.length ? `?${parts.join('&')}` : '';
}

export class CampaignClient {
	readonly apiBase: string;
	private readonly transport: Transport;

	constructor(options: CampaignClientOptions) {
		this.transport = options.transport;
		const base = options.apiBaseUrl.replace(/\/+$/, '');
		if (!/^https?:\/\/[^/]+\/.+/.test(base)) {
			throw new Error(
				`Invalid Campaign API base URL ${JSON.stringify(options.apiBaseUrl)}: expected e.g. https://mc.adobe.io/<organization>/campaign`,
			);
		}
		this.apiBase = base;
	}

	// ---- requests --------------------------------------------------------------------------

	private routeOf(method: HttpMethod, url: string): string {
		const path = url.startsWith(this.apiBase + '/') ? url.slice(this.apiBase.length + 1) : url;
		return `${method} ${path.split('?')[0]}`;
	}

	/** An absolute URL below the API base; a href from a response is checked to stay there. */
	private resolve(pathOrHref: string): string {
		const url = /^https?:\/\//.test(pathOrHref) ? pathOrHref : `${this.apiBase}/${pathOrHref}`;
		if (!url.startsWith(this.apiBase + '/')) {
			// The token goes only to this Campaign instance.
			throw new Error(`Refusing a Campaign URL outside ${this.apiBase}: ${url.split('?')[0]}`);
		}
		return url;
	}

	private async exchange<T>(
		method: HttpMethod,
		pathOrHref: string,
		body?: unknown,
		replaySafe?: boolean,
	): Promise<{ response: HttpResponse<T>; route: string }> {
		const url = this.resolve(pathOrHref);
		const route = this.routeOf(method, url);
		const request: HttpRequest = {
			method,
			url,
			headers: {
				Accept: 'application/json',
				...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
			},
			route: `campaign:${route.replace(/\/@[^/]*$/, '/{PKey}')}`,
		};
		if (body !== undefined) request.body = body;
		if (replaySafe !== undefined) request.replaySafe = replaySafe;
		return { response: await this.transport.request<T>(request), route };
	}

	private async send<T>(
		method: HttpMethod,
		pathOrHref: string,
		body?: unknown,
		replaySafe?: boolean,
	): Promise<T> {
		const { response, route } = await this.exchange<T>(method, pathOrHref, body, replaySafe);
		if (response.status >= 400) throw campaignError(response, route);
		return response.body;
	}

	// ---- reading ---------------------------------------------------------------------------

	/** The href of a record from its resource and PKey. */
	recordHref(resource: ResourcePath, pkey: string): string {
		const { api, name } = parseResourcePath(resource);
		if (!pkey) throw new Error(`A PKey is needed to address a ${name} record`);
		// '@' is legal in a path segment and is how Campaign writes PKeys in its own hrefs.
		return `${this.apiBase}/${api}/${name}/${encodeURIComponent(pkey).replace(/%40/g, '@')}`;
	}

	/** Lists records page by page, following `next.href`. */
	async *listPages(
		resource: ResourcePath,
		options: ListOptions = {},
	): AsyncGenerator<CampaignPage> {
		let url: string | undefined = options.nextHref;
		if (!url) {
			const { api, name } = parseResourcePath(resource);
			url = `${api}/${name}${this.listQuery(options)}`;
		}
		yield* this.follow(url);
	}

	/**
	 * Every record a `by<Filter>` filter returns, e.g.
	 * `findByFilter('profileAndServicesExt/profile', 'byExternalId', { externalId })`. All matches
	 * are returned so that callers can detect duplicate keys.
	 */
	async findByFilter(
		resource: ResourcePath,
		filter: string,
		params: Record<string, string | number>,
		options: { lineCount?: number } = {},
	): Promise<CampaignRecord[]> {
		const records: CampaignRecord[] = [];
		for await (const page of this.filterPages(resource, filter, params, options)) {
			records.push(...page.records);
		}
		return records;
	}

	/** The pages of a `by<Filter>` filter. */
	async *filterPages(
		resource: ResourcePath,
		filter: string,
		params: Record<string, string | number>,
		options: ListOptions = {},
	): AsyncGenerator<CampaignPage> {
		let url: string | undefined = options.nextHref;
		if (!url) {
			const { api, name } = parseResourcePath(resource);
			if (!FILTER.test(filter)) {
				throw new Error(
					`Invalid Campaign filter name ${JSON.stringify(filter)}: expected e.g. "byEmail"`,
				);
			}
			const list = this.listQuery(options);
			const query = campaignQuery(params);
			url = `${api}/${name}/${filter}${query}${list ? (query ? '&' : '?') + list.slice(1) : ''}`;
		}
		yield* this.follow(url);
	}

	private listQuery(options: ListOptions): string {
		const params: Record<string, string | number | undefined> = {};
		if (options.lineCount !== undefined) {
			if (!Number.isInteger(options.lineCount) || options.lineCount < 1) {
				throw new Error(`Invalid _lineCount ${options.lineCount}`);
			}
			params._lineCount = options.lineCount;
		}
		if (options.order) {
			if (!NAME.test(options.order.field)) {
				throw new Error(`Invalid field name ${JSON.stringify(options.order.field)} to order by`);
			}
			params._order = `${options.order.field}${options.order.descending ? ' desc' : ''}`;
		}
		return campaignQuery(params);
	}

	private async *follow(firstUrl: string): AsyncGenerator<CampaignPage> {
		let url: string | undefined = firstUrl;
		const seen = new Set<string>();
		while (url) {
			if (seen.has(url))
				throw new Error(`Campaign returned the same next page twice: ${url.split('?')[0]}`);
			seen.add(url);
			const body: { content?: CampaignRecord[]; next?: { href?: string } } = await this.send(
				'GET',
				url,
			);
			const records = Array.isArray(body.content) ? body.content : [];
			const next: string | undefined = records.length ? body.next?.href : undefined;
			const page: CampaignPage = { records };
			if (next) page.nextHref = next;
			yield page;
			url = next;
		}
	}

	/** A record by href (or `resource` + PKey via `recordHref`); undefined when it does not exist. */
	async get(href: string): Promise<CampaignRecord | undefined> {
		const { response, route } = await this.exchange<CampaignRecord>('GET', href);
		if (response.status === 404) return undefined;
		if (response.status >= 400) throw campaignError(response, route);
		return response.body;
	}

	/**
	 * Creates a record; returns it as Campaign stored it (with PKey and href). Not replayed after a
	 * lost response (the caller looks the key up again instead) unless `replaySafe`: the data holds
	 * a unique key, so a repeat is refused with 409 rather than creating a duplicate.
	 */
	async create(
		resource: ResourcePath,
		data: Record<string, unknown>,
		options: { replaySafe?: boolean } = {},
	): Promise<CampaignRecord> {
		const { api, name } = parseResourcePath(resource);
		return await this.send<CampaignRecord>(
			'POST',
			`${api}/${name}`,
			data,
			options.replaySafe === true,
		);
	}

	/** Updates the given fields of a record. */
	async patch(href: string, data: Record<string, unknown>): Promise<CampaignRecord> {
		return await this.send<CampaignRecord>('PATCH', href, data, true);
	}

	/** Deletes a record; false when it did not exist. */
	async delete(href: string): Promise<boolean> {
		const { response, route } = await this.exchange('DELETE', href, undefined, true);
		if (response.status === 404) return false;
		if (response.status >= 400) throw campaignError(response, route);
		return true;
	}

	// ---- metadata --------------------------------------------------------------------------

	/** A resource's fields (types, unique, read-only, enumeration values) and filters. */
	async resourceType(resource: ResourcePath): Promise<CampaignResourceType> {
		const { api, name } = parseResourcePath(resource);
		const metadataApi = api === 'customResources' ? 'profileAndServicesExt' : api;
		const body = await this.send<{
			name?: string;
			label?: string;
			content?: Record<string, Record<string, unknown>>;
			filters?: Record<string, { label?: string; parameters?: Record<string, { type?: string }> }>;
		}>('GET', `${metadataApi}/resourceType/${name}`);
		const filters: CampaignFilterInfo[] = Object.entries(body.filters ?? {}).map(
			([filterName, filter]) => ({
				name: filterName,
				label: filter.label ?? filterName,
				parameters: Object.entries(filter.parameters ?? {}).map(([param, info]) => ({
					name: param,
					type: String(info?.type ?? 'string'),
				})),
			}),
		);
		const fields: CampaignFieldInfo[] = Object.entries(body.content ?? {}).map(([key, raw]) => {
			const fieldName = String(raw.apiName ?? key);
			const field: CampaignFieldInfo = {
				name: fieldName,
				label: String(raw.label ?? fieldName),
				type: String(raw.type ?? 'string'),
				unique: raw.unique === true,
				readOnly: raw.readOnly === true,
				filters: filters
					.filter((f) => f.parameters.length === 1 && f.parameters[0].name === fieldName)
					.map((f) => f.name),
			};
			if (typeof raw.length === 'number') field.length = raw.length;
			if (Array.isArray(raw.values)) {
				field.values = raw.values.map((v: unknown) =>
					v && typeof v === 'object'
						? {
								value: String((v as Record<string, unknown>).value),
								label: String(
									(v as Record<string, unknown>).label ?? (v as Record<string, unknown>).value,
								),
							}
						: { value: String(v), label: String(v) },
				);
			}
			if (typeof raw.target === 'string') field.target = raw.target;
			return field;
		});
		return { name: body.name ?? name, label: body.label ?? name, fields, filters };
	}

	/** The custom resources of the instance. */
	async listCustomResources(): Promise<CustomResourceInfo[]> {
		const body = await this.send<{ content?: Array<Record<string, unknown>> }>(
			'GET',
			'profileAndServicesExt',
		);
		return (body.content ?? []).map((r) => ({
			name: String(r.name),
			label: String(r.label ?? r.name),
			href: String(r.href ?? ''),
		}));
	}

	// ---- email events ----------------------------------------------------------------------

	/**
	 * Reads email event records in (lastModified, eventId) order after a checkpoint, page by page.
	 * Each page carries the checkpoint to store once its events are handled.
	 */
	async *readEvents(options: ReadEventsOptions = {}): AsyncGenerator<EventPage> {
		const resource = options.resource ?? DEFAULT_EVENT_RESOURCE;
		const params: Record<string, string> = {
			lastModified: options.after?.lastModified ?? BEGINNING,
		};
		if (options.after?.eventId) params.eventId = options.after.eventId;
		let checkpoint = options.after;
		for await (const page of this.filterPages(
			`profileAndServicesExt/${resource}`,
			options.filter ?? DEFAULT_EVENT_FILTER,
			params,
			options.pageSize ? { lineCount: options.pageSize } : {},
		)) {
			const last = page.records[page.records.length - 1];
			if (last) {
				checkpoint = { lastModified: String(last.lastModified), eventId: String(last.eventId) };
			}
			const result: EventPage = { events: page.records };
			if (checkpoint) result.checkpoint = checkpoint;
			yield result;
		}
	}
}

function campaignError(response: HttpResponse<unknown>, route: string): CampaignApiError {
	const error = readCampaignError(response.body, response.status);
	return new CampaignApiError(response.status, error.code, error.message, route);
}
