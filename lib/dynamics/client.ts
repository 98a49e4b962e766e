/**
 * Dataverse Web API client: queries with paging, change tracking, metadata, writes and `$batch`.
 * It takes a Transport that already authenticates and retries; it only shapes requests and reads
 * responses.
 */
import type { HttpMethod, HttpRequest, HttpResponse, Transport } from '../http/types';
import {
	buildBatch,
	matchBatchResults,
	parseBatchResponse,
	type BatchItem,
	type BatchOperation,
	type BatchOperationResult,
} from './batch';
import {
	DataverseApiError,
	DeltaTokenExpiredError,
	isExpiredDeltaTokenError,
	readDataverseError,
} from './errors';
import {
	assertIdentifier,
	assertPropertyPath,
	encodeQueryValue,
	keySegment,
	normalizeGuid,
	odataLiteral,
	type ODataFilter,
	type ODataValue,
} from './odata';

export type DataverseRow = Record<string, unknown>;

export interface DataverseClientOptions {
	transport: Transport;
	/** e.g. `https://contoso.crm4.dynamics.com` */
	environmentUrl: string;
	apiVersion?: '9.2';
	/** Default rows per page (`odata.maxpagesize`), at most 5000. */
	maxPageSize?: number;
}

export interface OrderBy {
	column: string;
	descending?: boolean;
}

export interface QueryOptions {
	select?: string[];
	filter?: ODataFilter;
	orderBy?: OrderBy[];
	/** Most rows to return over all pages. */
	top?: number;
	pageSize?: number;
	/** Ask for display values (`<column>@OData.Community.Display.V1.FormattedValue`); default true. */
	formattedValues?: boolean;
	/** Continue from a `nextLink` of an earlier page instead of starting over. */
	nextLink?: string;
}

export interface QueryPage {
	rows: DataverseRow[];
	/** Present when more pages follow. */
	nextLink?: string;
}

export interface TrackChangesOptions {
	select?: string[];
	/** The delta link of the previous run (or a `nextLink` of an unfinished one); none = initial read. */
	deltaLink?: string;
	pageSize?: number;
	formattedValues?: boolean;
}

export interface ChangePage {
	/** Created or updated rows, as full current versions. */
	upserted: DataverseRow[];
	/** Primary keys of deleted rows. */
	deleted: string[];
	/** The link to the next page of this read (absent on the last page). */
	nextLink?: string;
	/** On the last page: the link that returns the changes after this read. */
	deltaLink?: string;
}

export interface AlternateKey {
	name: string;
	columns: string[];
}

export interface TableInfo {
	logicalName: string;
	entitySetName: string;
	primaryIdAttribute: string;
	primaryNameAttribute?: string;
	displayName?: string;
	changeTrackingEnabled: boolean;
	isActivity?: boolean;
	/** Only filled by `getTable`. */
	alternateKeys?: AlternateKey[];
}

export interface ColumnInfo {
	logicalName: string;
	/** Dataverse `AttributeType`: String, Picklist, Boolean, Lookup, DateTime, Money, … */
	type: string;
	displayName?: string;
	isPrimaryId?: boolean;
	isPrimaryName?: boolean;
	/** Tables a lookup column can point to, when Dataverse says so. */
	targets?: string[];
}

export interface OptionInfo {
	/** The value as rows carry it: a number, or true/false for Boolean columns. */
	value: number | boolean;
	label: string;
	/** For status options: the state they belong to. */
	state?: number;
}

export interface WriteOptions {
	/** Columns to return (`Prefer: return=representation`). */
	returnColumns?: string[];
}

export interface CreateResult {
	id: string;
	row?: DataverseRow;
}

export interface UpsertResult {
	id?: string;
	/** Known when the service tells (with `returnColumns`): true for created, false for updated. */
	created?: boolean;
	row?: DataverseRow;
}

export interface BatchOptions {
	/** Go on after a failed operation outside changesets (`Prefer: odata.continue-on-error`). */
	continueOnError?: boolean;
}

interface ChangeResponse {
	value: DataverseRow[];
	'@odata.nextLink'?: string;
	'@odata.deltaLink'?: string;
}

const FORMATTED = 'OData.Community.Display.V1.FormattedValue';
/** Dataverse's page size limit. */
export const MAX_PAGE_SIZE = 5000;
/** `@odata.count` stops at this number (webapi/query/count-rows.md). */
export const COUNT_LIMIT = 5000;

interface LocalizedLabel {
	UserLocalizedLabel?: { Label?: string } | null;
	LocalizedLabels?: Array<{ Label?: string }>;
}

function labelText(label: LocalizedLabel | null | undefined): string | undefined {
	return label?.UserLocalizedLabel?.Label ?? label?.LocalizedLabels?.[0]?.Label ?? undefined;
}

function clampPageSize(size: number | undefined, fallback: number): number {
	const value = size ?? fallback;
	if (!Number.isInteger(value) || value < 1) throw new Error(`Invalid page size ${value}`);
	return Math.min(value, MAX_PAGE_SIZE);
}

/** Builds a query string from already-safe option values (each is URL-encoded here). */
export function buildQueryString(options: Record<string, string | undefined>): string {
	const parts = Object.entries(options)
		.filter(([, value]) => value !== undefined && value !== '')
		.map(([name, value]) => `${name}=${encodeQueryValue(value as string)}`);
	return parts.length ? `?${parts.join('&')}` : '';
}

/** The id in an `OData-EntityId` header or a record URL: `…/contacts(<guid>)`. */
export function idFromEntityUrl(url: string | undefined): string | undefined {
	if (!url) return undefined;
	const match = /\(([0-9a-fA-F-]{36})\)\s*$/.exec(url);
	return match ? match[1].toLowerCase() : undefined;
}

export class DataverseClient {
	readonly apiBase: string;
	private readonly transport: Transport;
	private readonly defaultPageSize: number;
	private readonly tables = new Map<string, Promise<TableInfo>>();
	private readonly columns = new Map<string, Promise<ColumnInfo[]>>();

	constructor(options: DataverseClientOptions) {
		this.transport = options.transport;
		const environment = options.environmentUrl.replace(/\/+$/, '');
		if (!/^https?:\/\/[^/]+/.test(environment)) {
			throw new Error(
				`Invalid Dataverse environment URL ${JSON.stringify(options.environmentUrl)}`,
			);
		}
		this.apiBase = `${environment}/api/data/v${options.apiVersion ?? '9.2'}/`;
		this.defaultPageSize = clampPageSize(options.maxPageSize, MAX_PAGE_SIZE);
	}

	// ---- requests --------------------------------------------------------------------------

	/** The route label used in errors and request counters: method and path without query. */
	private routeOf(method: HttpMethod, url: string): string {
		const path = url.startsWith(this.apiBase) ? url.slice(this.apiBase.length) : url;
		return `${method} ${path.split('?')[0]}`;
	}

	/** Sends a request and returns the response whatever its status. */
	private async exchange<T = unknown>(
		method: HttpMethod,
		pathOrUrl: string,
		init: { body?: unknown; headers?: Record<string, string>; replaySafe?: boolean } = {},
	): Promise<{ response: HttpResponse<T>; route: string }> {
		const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : this.apiBase + pathOrUrl;
		if (!url.startsWith(this.apiBase)) {
			// A link from a response must stay on this environment, so the token never leaves it.
			throw new Error(
				`Refusing to follow a link outside the Dataverse environment: ${url.split('?')[0]}`,
			);
		}
		const route = this.routeOf(method, url);
		const request: HttpRequest = {
			method,
			url,
			headers: {
				Accept: 'application/json',
				'OData-MaxVersion': '4.0',
				'OData-Version': '4.0',
				...(init.body !== undefined && typeof init.body !== 'string'
					? { 'Content-Type': 'application/json' }
					: {}),
				...(init.headers ?? {}),
			},
			route: `dataverse:${route.split(/[(?]/)[0]}`,
		};
		if (init.body !== undefined) request.body = init.body;
		if (init.replaySafe !== undefined) request.replaySafe = init.replaySafe;
		const response = await this.transport.request<T>(request);
		return { response, route };
	}

	/** Sends a request; any status of 400 or more becomes a `DataverseApiError`. */
	private async send<T = unknown>(
		method: HttpMethod,
		pathOrUrl: string,
		init: { body?: unknown; headers?: Record<string, string>; replaySafe?: boolean } = {},
	): Promise<HttpResponse<T>> {
		const { response, route } = await this.exchange<T>(method, pathOrUrl, init);
		if (response.status >= 400) throw apiError(response, route);
		return response;
	}

	private preferHeader(prefs: Array<string | false | undefined>): Record<string, string> {
		const values = prefs.filter((p): p is string => !!p);
		return values.length ? { Prefer: values.join(',') } : {};
	}

	// ---- metadata --------------------------------------------------------------------------

	private static readonly TABLE_SELECT =
		'LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,ChangeTrackingEnabled,DisplayName,IsActivity';

	private static toTableInfo(raw: Record<string, unknown>): TableInfo {
		const info: TableInfo = {
			logicalName: String(raw.LogicalName),
			entitySetName: String(raw.EntitySetName),
			primaryIdAttribute: String(raw.PrimaryIdAttribute),
			changeTrackingEnabled: raw.ChangeTrackingEnabled === true,
		};
		if (typeof raw.PrimaryNameAttribute === 'string')
			info.primaryNameAttribute = raw.PrimaryNameAttribute;
		const displayName = labelText(raw.DisplayName as LocalizedLabel);
		if (displayName) info.displayName = displayName;
		if (typeof raw.IsActivity === 'boolean') info.isActivity = raw.IsActivity;
		return info;
	}

	/** All tables, sorted by logical name. */
	async listTables(): Promise<TableInfo[]> {
		const response = await this.send<{ value: Array<Record<string, unknown>> }>(
			'GET',
			`EntityDefinitions${buildQueryString({ $select: DataverseClient.TABLE_SELECT })}`,
		);
		return response.body.value
			.map((raw) => DataverseClient.toTableInfo(raw))
			.sort((a, b) => a.logicalName.localeCompare(b.logicalName));
	}

	/** One table's metadata with its alternate keys; cached for the life of this client. */
	getTable(logicalName: string): Promise<TableInfo> {
		assertIdentifier(logicalName, 'table name');
		let cached = this.tables.get(logicalName);
		if (!cached) {
			cached = this.fetchTable(logicalName);
			// A failed lookup is not cached, so a later call can succeed.
			cached.catch(() => this.tables.delete(logicalName));
			this.tables.set(logicalName, cached);
		}
		return cached;
	}

	private async fetchTable(logicalName: string): Promise<TableInfo> {
		const response = await this.send<Record<string, unknown>>(
			'GET',
			`EntityDefinitions(LogicalName=${odataLiteral(logicalName, 'string')})${buildQueryString({
				$select: DataverseClient.TABLE_SELECT,
				$expand: 'Keys($select=LogicalName,KeyAttributes)',
			})}`,
		);
		const info = DataverseClient.toTableInfo(response.body);
		const keys = Array.isArray(response.body.Keys) ? response.body.Keys : [];
		info.alternateKeys = keys.map((key: Record<string, unknown>) => ({
			name: String(key.LogicalName),
			columns: Array.isArray(key.KeyAttributes) ? key.KeyAttributes.map(String) : [],
		}));
		return info;
	}

	/** The columns of a table with their types; cached for the life of this client. */
	getColumns(table: string): Promise<ColumnInfo[]> {
		assertIdentifier(table, 'table name');
		let cached = this.columns.get(table);
		if (!cached) {
			cached = this.fetchColumns(table);
			cached.catch(() => this.columns.delete(table));
			this.columns.set(table, cached);
		}
		return cached;
	}

	private async fetchColumns(table: string): Promise<ColumnInfo[]> {
		const response = await this.send<{ value: Array<Record<string, unknown>> }>(
			'GET',
			`EntityDefinitions(LogicalName=${odataLiteral(table, 'string')})/Attributes${buildQueryString(
				{
					$select: 'LogicalName,AttributeType,DisplayName,IsPrimaryId,IsPrimaryName',
				},
			)}`,
		);
		return response.body.value
			.map((raw) => {
				const column: ColumnInfo = {
					logicalName: String(raw.LogicalName),
					type: String(raw.AttributeType),
				};
				const displayName = labelText(raw.DisplayName as LocalizedLabel);
				if (displayName) column.displayName = displayName;
				if (typeof raw.IsPrimaryId === 'boolean') column.isPrimaryId = raw.IsPrimaryId;
				if (typeof raw.IsPrimaryName === 'boolean') column.isPrimaryName = raw.IsPrimaryName;
				if (Array.isArray(raw.Targets)) column.targets = raw.Targets.map(String);
				return column;
			})
			.sort((a, b) => a.logicalName.localeCompare(b.logicalName));
	}

	/** The choices of a picklist, state, status or boolean column. */
	async getOptions(table: string, column: string): Promise<OptionInfo[]> {
		assertIdentifier(column);
		const columns = await this.getColumns(table);
		const info = columns.find((c) => c.logicalName === column);
		if (!info) throw new Error(`Table ${table} has no column ${column}`);
		const cast: Record<string, string> = {
			Picklist: 'PicklistAttributeMetadata',
			State: 'StateAttributeMetadata',
			Status: 'StatusAttributeMetadata',
			Boolean: 'BooleanAttributeMetadata',
		};
		const metadataType = cast[info.type];
		if (!metadataType) {
			throw new Error(
				`Column ${column} of table ${table} is a ${info.type} column; only Picklist, State, Status and Boolean columns have options`,
			);
		}
		const response = await this.send<{
			OptionSet?: {
				Options?: Array<{ Value: number; Label?: LocalizedLabel; State?: number }>;
				TrueOption?: { Value: number; Label?: LocalizedLabel };
				FalseOption?: { Value: number; Label?: LocalizedLabel };
			};
			GlobalOptionSet?: {
				Options?: Array<{ Value: number; Label?: LocalizedLabel; State?: number }>;
			};
		}>(
			'GET',
			`EntityDefinitions(LogicalName=${odataLiteral(table, 'string')})/Attributes(LogicalName=${odataLiteral(
				column,
				'string',
			)})/Microsoft.Dynamics.CRM.${metadataType}${buildQueryString({
				$select: 'LogicalName',
				$expand: 'OptionSet',
			})}`,
		);
		const optionSet = response.body.OptionSet;
		if (info.type === 'Boolean') {
			return [
				{ value: true, label: labelText(optionSet?.TrueOption?.Label) ?? 'Yes' },
				{ value: false, label: labelText(optionSet?.FalseOption?.Label) ?? 'No' },
			];
		}
		const options = optionSet?.Options ?? response.body.GlobalOptionSet?.Options ?? [];
		return options.map((option) => {
			const result: OptionInfo = {
				value: option.Value,
				label: labelText(option.Label) ?? String(option.Value),
			};
			if (typeof option.State === 'number') result.state = option.State;
			return result;
		});
	}

	/** Row counts per table, as Dataverse's periodically refreshed snapshot. */
	async retrieveTotalRecordCount(tables: string[]): Promise<Record<string, number>> {
		if (tables.length === 0) return {};
		const names = tables.map((t) => odataLiteral(assertIdentifier(t, 'table name'), 'string'));
		const response = await this.send<{
			EntityRecordCountCollection?: { Keys?: string[]; Values?: Array<number | string> };
		}>('GET', `RetrieveTotalRecordCount(EntityNames=[${names.map(encodeQueryValue).join(',')}])`);
		const collection = response.body.EntityRecordCountCollection ?? {};
		const counts: Record<string, number> = {};
		(collection.Keys ?? []).forEach((key, i) => {
			counts[key] = Number(collection.Values?.[i] ?? 0);
		});
		return counts;
	}

	// ---- reading ---------------------------------------------------------------------------

	/** Query a table page by page, following `@odata.nextLink`. */
	async *queryPages(table: string, options: QueryOptions = {}): AsyncGenerator<QueryPage> {
		const pageSize = clampPageSize(options.pageSize, this.defaultPageSize);
		const headers = this.preferHeader([
			`odata.maxpagesize=${pageSize}`,
			options.formattedValues !== false && `odata.include-annotations="${FORMATTED}"`,
		]);
		let url: string | undefined = options.nextLink;
		if (!url) {
			const { entitySetName } = await this.getTable(table);
			url =
				entitySetName +
				buildQueryString({
					$select: options.select?.map((c) => assertIdentifier(c)).join(','),
					$filter: options.filter?.toString(),
					$orderby: options.orderBy
						?.map((o) => `${assertPropertyPath(o.column)} ${o.descending ? 'desc' : 'asc'}`)
						.join(','),
				});
		}
		let remaining = options.top ?? Infinity;
		while (url && remaining > 0) {
			const response: HttpResponse<{ value: DataverseRow[]; '@odata.nextLink'?: string }> =
				await this.send<{ value: DataverseRow[]; '@odata.nextLink'?: string }>('GET', url, {
					headers,
				});
			let rows = response.body.value ?? [];
			if (rows.length > remaining) rows = rows.slice(0, remaining);
			remaining -= rows.length;
			const next: string | undefined = remaining > 0 ? response.body['@odata.nextLink'] : undefined;
			const page: QueryPage = { rows };
			if (next) page.nextLink = next;
			yield page;
			url = next;
		}
	}

	/**
	 * Rows matching a filter, counted by Dataverse up to 5,000: `atLeast` says the count stopped
	 * there (webapi/query/count-rows.md: `$count=true` with the `totalrecordcountlimitexceeded`
	 * annotation). One request, one row returned.
	 */
	async countRows(
		table: string,
		filter?: ODataFilter,
	): Promise<{ count: number; atLeast: boolean }> {
		const { entitySetName, primaryIdAttribute } = await this.getTable(table);
		const response = await this.send<Record<string, unknown>>(
			'GET',
			entitySetName +
				buildQueryString({
					$select: primaryIdAttribute,
					$filter: filter?.toString(),
					$count: 'true',
				}),
			{
				headers: this.preferHeader([
					'odata.maxpagesize=1',
					'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"',
				]),
			},
		);
		const count = Number(response.body['@odata.count'] ?? 0);
		const exceeded = response.body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'];
		return { count, atLeast: exceeded === true || count >= COUNT_LIMIT };
	}

	/** All rows of a query (bounded by `top`, or everything: use `queryPages` for large tables). */
	async query(table: string, options: QueryOptions = {}): Promise<DataverseRow[]> {
		const rows: DataverseRow[] = [];
		for await (const page of this.queryPages(table, options)) rows.push(...page.rows);
		return rows;
	}

	/** One row by id, or undefined when it does not exist. */
	async retrieve(
		table: string,
		id: string,
		options: { select?: string[]; formattedValues?: boolean } = {},
	): Promise<DataverseRow | undefined> {
		const { entitySetName } = await this.getTable(table);
		const { response, route } = await this.exchange<DataverseRow>(
			'GET',
			`${entitySetName}${keySegment(id)}${buildQueryString({
				$select: options.select?.map((c) => assertIdentifier(c)).join(','),
			})}`,
			{
				headers: this.preferHeader([
					options.formattedValues !== false && `odata.include-annotations="${FORMATTED}"`,
				]),
			},
		);
		if (response.status === 404) return undefined;
		if (response.status >= 400) throw apiError(response, route);
		return response.body;
	}

	/**
	 * Change tracking: the first call (no delta link) reads every row; later calls pass the last
	 * delta link and get rows created or updated since, and the ids of deleted rows. The delta link
	 * comes with the last page. An expired or unknown token throws `DeltaTokenExpiredError`.
	 */
	async *trackChanges(
		table: string,
		options: TrackChangesOptions = {},
	): AsyncGenerator<ChangePage> {
		const pageSize = clampPageSize(options.pageSize, this.defaultPageSize);
		const headers = this.preferHeader([
			'odata.track-changes',
			`odata.maxpagesize=${pageSize}`,
			options.formattedValues !== false && `odata.include-annotations="${FORMATTED}"`,
		]);
		let url: string | undefined = options.deltaLink;
		if (!url) {
			const { entitySetName } = await this.getTable(table);
			url =
				entitySetName +
				buildQueryString({ $select: options.select?.map((c) => assertIdentifier(c)).join(',') });
		}
		while (url) {
			const exchanged: { response: HttpResponse<ChangeResponse>; route: string } =
				await this.exchange<ChangeResponse>('GET', url, { headers });
			const { response, route } = exchanged;
			if (response.status >= 400) {
				const error = readDataverseError(response.body, response.status);
				if (options.deltaLink && isExpiredDeltaTokenError(response.status, error)) {
					throw new DeltaTokenExpiredError(response.status, error.code, error.message, route);
				}
				throw new DataverseApiError(response.status, error.code, error.message, route);
			}
			const page = splitChanges(response.body.value ?? []);
			const next: string | undefined = response.body['@odata.nextLink'];
			const delta = response.body['@odata.deltaLink'];
			if (next) page.nextLink = next;
			if (delta) page.deltaLink = delta;
			yield page;
			url = next;
		}
	}

	// ---- writing ---------------------------------------------------------------------------

	/** `"<navigation>@odata.bind": "/<set>(<id>)"` to set a lookup on create or update. */
	async bind(navigationProperty: string, targetTable: string, id: string): Promise<DataverseRow> {
		const { entitySetName } = await this.getTable(targetTable);
		return {
			[`${assertIdentifier(navigationProperty)}@odata.bind`]: `/${entitySetName}(${normalizeGuid(id)})`,
		};
	}

	async create(
		table: string,
		data: DataverseRow,
		options: WriteOptions = {},
	): Promise<CreateResult> {
		const { entitySetName, primaryIdAttribute } = await this.getTable(table);
		const select = options.returnColumns?.map((c) => assertIdentifier(c));
		const response = await this.send<DataverseRow>(
			'POST',
			`${entitySetName}${buildQueryString({ $select: select?.join(',') })}`,
			{
				body: data,
				headers: this.preferHeader([select && 'return=representation']),
				// A primary key in the body makes a replay fail as a duplicate instead of creating twice.
				replaySafe: typeof data[primaryIdAttribute] === 'string',
			},
		);
		const row = select && typeof response.body === 'object' ? response.body : undefined;
		const id =
			idFromEntityUrl(response.headers['odata-entityid']) ??
			(row && typeof row[primaryIdAttribute] === 'string'
				? String(row[primaryIdAttribute])
				: undefined);
		if (!id) {
			throw new DataverseApiError(
				response.status,
				'',
				'The create response carries no record id',
				`POST ${entitySetName}`,
			);
		}
		return row ? { id, row } : { id };
	}

	/** Updates an existing row (`If-Match: *`: a missing row is a 404, never a new row). */
	async update(table: string, id: string, data: DataverseRow): Promise<void> {
		const { entitySetName } = await this.getTable(table);
		await this.send('PATCH', `${entitySetName}${keySegment(id)}`, {
			body: data,
			headers: { 'If-Match': '*' },
			replaySafe: true,
		});
	}

	/**
	 * Creates or updates the row an alternate key (or a primary key) names. With `returnColumns`,
	 * the result says whether the row was created.
	 */
	async upsert(
		table: string,
		key: string | Record<string, ODataValue>,
		data: DataverseRow,
		options: WriteOptions = {},
	): Promise<UpsertResult> {
		const { entitySetName, primaryIdAttribute } = await this.getTable(table);
		const select = options.returnColumns
			? [...new Set([primaryIdAttribute, ...options.returnColumns])].map((c) => assertIdentifier(c))
			: undefined;
		const response = await this.send<DataverseRow>(
			'PATCH',
			`${entitySetName}${keySegment(key)}${buildQueryString({ $select: select?.join(',') })}`,
			{
				body: data,
				headers: this.preferHeader([select && 'return=representation']),
				replaySafe: true,
			},
		);
		const result: UpsertResult = {};
		const row = select && typeof response.body === 'object' ? response.body : undefined;
		const id =
			(row && typeof row[primaryIdAttribute] === 'string'
				? String(row[primaryIdAttribute])
				: undefined) ??
			idFromEntityUrl(response.headers['odata-entityid']) ??
			(typeof key === 'string' ? normalizeGuid(key) : undefined);
		if (id) result.id = id;
		if (row) {
			result.row = row;
			result.created = response.status === 201;
		}
		return result;
	}

	/** Deletes a row; false when it did not exist. */
	async delete(table: string, id: string): Promise<boolean> {
		const { entitySetName } = await this.getTable(table);
		const { response, route } = await this.exchange('DELETE', `${entitySetName}${keySegment(id)}`, {
			replaySafe: true,
		});
		if (response.status === 404) return false;
		if (response.status >= 400) throw apiError(response, route);
		return true;
	}

	/** The path of a row for a `$batch` operation, e.g. `/api/data/v9.2/contacts(<id>)`. */
	async batchUrl(table: string, key?: string | Record<string, ODataValue>): Promise<string> {
		const { entitySetName } = await this.getTable(table);
		return `${new URL(this.apiBase).pathname}${entitySetName}${key === undefined ? '' : keySegment(key)}`;
	}

	/**
	 * Sends operations as one `$batch`. Results come back one per operation, in order, each with its
	 * status, body and Dataverse error. A batch itself never throws for failed operations.
	 */
	async batch(items: BatchItem[], options: BatchOptions = {}): Promise<BatchOperationResult[]> {
		const count = items.reduce(
			(n, item) => n + ('changeset' in item ? item.changeset.length : 1),
			0,
		);
		if (count > 1000) throw new Error(`A $batch holds at most 1000 operations, got ${count}`);
		const built = buildBatch(items);
		const request: HttpRequest = {
			method: 'POST',
			url: `${this.apiBase}$batch`,
			headers: {
				Accept: 'application/json',
				'OData-MaxVersion': '4.0',
				'OData-Version': '4.0',
				'Content-Type': built.contentType,
				...this.preferHeader([options.continueOnError && 'odata.continue-on-error']),
			},
			body: built.body,
			route: 'dataverse:$batch',
			replaySafe: items.every((item) => isReplaySafe(item)),
		};
		const response = await this.transport.request<unknown>(request);
		const contentType = response.headers['content-type'] ?? '';
		if (!/multipart\/mixed/i.test(contentType)) {
			const error = readDataverseError(response.body, response.status);
			throw new DataverseApiError(response.status, error.code, error.message, 'POST $batch');
		}
		const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
		return matchBatchResults(items, built.contentIds, parseBatchResponse(contentType, text));
	}
}

function isReplaySafe(item: BatchItem): boolean {
	const ops: BatchOperation[] = 'changeset' in item ? item.changeset : [item];
	return ops.every(
		(op) =>
			op.method === 'GET' || op.method === 'DELETE' || op.method === 'PATCH' || op.method === 'PUT',
	);
}

function apiError(response: HttpResponse<unknown>, route: string): DataverseApiError {
	const error = readDataverseError(response.body, response.status);
	return new DataverseApiError(response.status, error.code, error.message, route);
}

/** Separates change-tracking rows into upserted rows and deleted ids. */
export function splitChanges(values: DataverseRow[]): ChangePage {
	const page: ChangePage = { upserted: [], deleted: [] };
	for (const value of values) {
		const context = value['@odata.context'];
		if (
			value.reason === 'deleted' ||
			(typeof context === 'string' && context.includes('$deletedEntity'))
		) {
			page.deleted.push(String(value.id));
		} else {
			page.upserted.push(value);
		}
	}
	return page;
}
