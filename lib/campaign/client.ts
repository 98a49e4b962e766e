/**
 * Adobe Campaign Standard REST client: resources, filters, PKey hrefs, `_lineCount` paging and
 * resource metadata. It takes a Transport that already authenticates (bearer token and
 * `X-Api-Key`) and retries.
 *
 * Campaign v8 tenants migrated from Campaign Standard answer the same REST API with a few
 * differences (experience-cloud.en help/campaign/api/limitations.md) that this client absorbs:
 * filter names without `by`, PATCH answering 204 without a body, and PKeys that change between
 * calls, so every href and PKey used comes from the latest answer, never from storage.
 */
import { MetadataCache } from '../http/cache';
import type { HttpMethod, HttpRequest, HttpResponse, Transport } from '../http/types';
import { CampaignApiError, isDeterministicCampaignAnswer, readCampaignError } from './errors';
import {
	readCustomResources,
	readFilters,
	readResourceType,
	type CampaignFilterInfo,
	type CampaignResourceType,
	type CustomResourceInfo,
} from './metadata';

export { CampaignApiError, readCampaignError } from './errors';
export type {
	CampaignFieldInfo,
	CampaignFilterInfo,
	CampaignResourceType,
	CustomResourceInfo,
} from './metadata';

export type CampaignRecord = Record<string, unknown> & { PKey?: string; href?: string };

export interface CampaignClientOptions {
	transport: Transport;
	/** e.g. `https://mc.adobe.io/<organization>/campaign` */
	apiBaseUrl: string;
	/**
	 * Where resource metadata is kept across clients (e.g. one per process, for a bounded time); by
	 * default it is kept for the life of this client only.
	 */
	metadataCache?: MetadataCache;
	/** Tells apart the entries of different organizations or credentials in a shared cache. */
	metadataScope?: string;
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

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const API = /^(profileAndServices|profileAndServicesExt|customResources)$/;

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

/** A Campaign resource as the client addresses it: profiles and custom resources live under the Ext API. */
export function campaignResourcePath(resource: string): ResourcePath {
	return resource.includes('/') ? resource : `profileAndServicesExt/${resource}`;
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
	private readonly metadataCache: MetadataCache;
	private readonly metadataScope: string;
	/** Cache entries this client has used, and its mark (to tell earlier runs' entries). */
	private readonly metadataUsed = new Set<string>();
	private readonly metadataMark: number;

	constructor(options: CampaignClientOptions) {
		this.transport = options.transport;
		const base = options.apiBaseUrl.replace(/\/+$/, '');
		if (!/^https?:\/\/[^/]+\/.+/.test(base)) {
			throw new Error(
				`Invalid Campaign API base URL ${JSON.stringify(options.apiBaseUrl)}: expected e.g. https://mc.adobe.io/<organization>/campaign`,
			);
		}
		this.apiBase = base;
		this.metadataCache = options.metadataCache ?? new MetadataCache({ ttlMs: Infinity });
		this.metadataMark = this.metadataCache.mark();
		this.metadataScope = options.metadataScope ?? base;
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
		repeatSafe?: boolean,
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
			deterministic: isDeterministicCampaignAnswer,
		};
		if (body !== undefined) request.body = body;
		if (repeatSafe !== undefined) request.repeatSafe = repeatSafe;
		return { response: await this.transport.request<T>(request), route };
	}

	private async send<T>(
		method: HttpMethod,
		pathOrHref: string,
		body?: unknown,
		repeatSafe?: boolean,
	): Promise<T> {
		const { response, route } = await this.exchange<T>(method, pathOrHref, body, repeatSafe);
		if (response.status >= 400) throw this.noteStaleMetadata(campaignError(response, route));
		return response.body;
	}

	// ---- metadata cache ------------------------------------------------------------------------

	/**
	 * Something derived from metadata, kept in the metadata cache under `kind` and `name` (e.g. a key
	 * filter checked against the data). Values are frozen.
	 */
	cachedMetadata<T>(kind: string, name: string, load: () => Promise<T>): Promise<T> {
		const key = this.metadataKey(kind, name);
		this.metadataUsed.add(key);
		return this.metadataCache.get(key, load);
	}

	/** Drops one entry of `cachedMetadata`. */
	forgetMetadata(kind: string, name: string): void {
		this.metadataCache.invalidate(this.metadataKey(kind, name));
	}

	private metadataKey(kind: string, name: string): string {
		return [this.metadataScope, kind, name].join('\u0000');
	}

	/**
	 * Drops the cached metadata this client used that earlier runs had read: a settings problem
	 * found against it, or an answer naming a field or value it does not know, may come from a
	 * change made in Campaign since. True when anything was dropped (reading again may then help).
	 */
	forgetCachedMetadata(): boolean {
		return this.metadataCache.invalidateLoadedBefore(this.metadataUsed, this.metadataMark);
	}

	/** An answer that names a field, value or filter Campaign does not know drops cached metadata. */
	private noteStaleMetadata(error: CampaignApiError): CampaignApiError {
		if (STALE_METADATA_ANSWER.test(error.serviceMessage)) this.forgetCachedMetadata();
		return error;
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
	 * Every record a filter returns, e.g. `findByFilter('profileAndServicesExt/profile', filter,
	 * { email })` with a filter from `filters()` (or a filter's path segment). All matches are
	 * returned so that callers can detect duplicate keys.
	 */
	async findByFilter(
		resource: ResourcePath,
		filter: CampaignFilterInfo | string,
		params: Record<string, string | number>,
		options: { lineCount?: number } = {},
	): Promise<CampaignRecord[]> {
		const records: CampaignRecord[] = [];
		for await (const page of this.filterPages(resource, filter, params, options)) {
			records.push(...page.records);
		}
		return records;
	}

	/** The pages of a filter. */
	async *filterPages(
		resource: ResourcePath,
		filter: CampaignFilterInfo | string,
		params: Record<string, string | number>,
		options: ListOptions = {},
	): AsyncGenerator<CampaignPage> {
		let url: string | undefined = options.nextHref;
		if (!url) {
			const { api, name } = parseResourcePath(resource);
			const segment = typeof filter === 'string' ? filter : filter.segment;
			if (!NAME.test(segment)) {
				throw new Error(
					`Invalid Campaign filter name ${JSON.stringify(segment)}: expected e.g. "byEmail"`,
				);
			}
			const list = this.listQuery(options);
			const query = campaignQuery(params);
			url = `${api}/${name}/${segment}${query}${list ? (query ? '&' : '?') + list.slice(1) : ''}`;
		}
		yield* this.follow(url);
	}

	private listQuery(options: ListOptions): string {
		// Above Campaign's big-table threshold (XtkBigTableThreshold, 100,000 records by default) a
		// list answers without `next` unless asked to page (CS help/api/using/pagination.md).
		const params: Record<string, string | number | undefined> = { _forcePagination: 'true' };
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
		let url: string | undefined = forcePagination(firstUrl);
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
			url = next && forcePagination(next);
		}
	}

	/** A record by href (or `resource` + PKey via `recordHref`); undefined when it does not exist. */
	async get(href: string): Promise<CampaignRecord | undefined> {
		const { response, route } = await this.exchange<CampaignRecord>('GET', href);
		if (isNoSuchRecord(response)) return undefined;
		if (response.status >= 400) throw campaignError(response, route);
		return response.body;
	}

	/**
	 * Creates a record; returns it as Campaign stored it (with PKey and href). Not sent again after a
	 * lost response (the caller looks the key up again instead) unless `repeatSafe`: the data holds
	 * a unique key, so a repeat is refused with 409 rather than creating a duplicate.
	 */
	async create(
		resource: ResourcePath,
		data: Record<string, unknown>,
		options: { repeatSafe?: boolean } = {},
	): Promise<CampaignRecord> {
		const { api, name } = parseResourcePath(resource);
		return await this.send<CampaignRecord>(
			'POST',
			`${api}/${name}`,
			data,
			options.repeatSafe === true,
		);
	}

	/**
	 * Updates the given fields of a record. Campaign Standard answers `{"PKey","href"}`; Campaign v8
	 * may answer 204 without a body (then the answer is `{}`).
	 */
	async patch(href: string, data: Record<string, unknown>): Promise<CampaignRecord> {
		const body = await this.send<CampaignRecord | ''>('PATCH', href, data, true);
		return body && typeof body === 'object' ? body : {};
	}

	/** Deletes a record; false when it did not exist. */
	async delete(href: string): Promise<boolean> {
		const { response, route } = await this.exchange('DELETE', href, undefined, true);
		if (isNoSuchRecord(response)) return false;
		if (response.status >= 400) throw campaignError(response, route);
		return true;
	}

	// ---- metadata ----------------------------------------------------------------------------

	/**
	 * A resource's fields (types, lengths, enumeration values, link targets) and filters href
	 * (cached, see `metadataCache`).
	 */
	resourceType(resource: ResourcePath): Promise<CampaignResourceType> {
		const { api, name } = parseResourcePath(resource);
		return this.cachedMetadata('resourceType', `${api}/${name}`, async () => {
			// Resources linked to the profile are described under the API they are read from; the
			// others under `customResources/resourceType` (CS help/api/using/custom-resources.md).
			const body = await this.send<unknown>('GET', `${api}/resourceType/${name}`);
			return readResourceType(body, name);
		});
	}

	/** The filters of a resource (a second GET on its metadata's filters href; cached). */
	async filters(type: CampaignResourceType): Promise<CampaignFilterInfo[]> {
		const href = type.filtersHref;
		if (!href) return [];
		return await this.cachedMetadata('filters', href, async () =>
			readFilters(await this.send<unknown>('GET', href)),
		);
	}

	/** The custom resources linked to the profile. */
	async listCustomResources(): Promise<CustomResourceInfo[]> {
		return readCustomResources(await this.send<unknown>('GET', 'profileAndServicesExt/'));
	}
}

/**
 * No record has this PKey: 404, or Campaign Standard's 500 for a PKey it cannot parse
 * (`XTK-170036 Unable to parse expression '@id = @…'`; Campaign v8 answers 404 for the same,
 * experience-cloud.en help/campaign/api/limitations.md).
 */
function isNoSuchRecord(response: HttpResponse<unknown>): boolean {
	if (response.status === 404) return true;
	if (response.status !== 500) return false;
	const { code, message } = readCampaignError(response.body, response.status);
	return code === 'XTK-170036' && /'@id = @/.test(message);
}

/**
 * Campaign's answers for a field or value its metadata does not (or no longer) describe: an
 * unknown attribute, an enumeration value that is not valid, a read-only property (CS
 * troubleshooting.md; experience-cloud.en help/campaign/api/limitations.md, "Error codes and
 * messages"); and "Unknown filter", the sandbox's wording for a filter that does not exist (Adobe
 * documents none). At worst a match costs one more metadata read.
 */
const STALE_METADATA_ANSWER = /attribute unknown|is not valid for|read-only|unknown filter/i;

/** Keeps `_forcePagination=true` on a next page's URL, should Campaign leave it out. */
function forcePagination(url: string): string {
	if (/[?&]_forcePagination=/.test(url)) return url;
	return `${url}${url.includes('?') ? '&' : '?'}_forcePagination=true`;
}

function campaignError(response: HttpResponse<unknown>, route: string): CampaignApiError {
	const error = readCampaignError(response.body, response.status);
	return new CampaignApiError(response.status, error.code, error.message, route);
}
